"""The text query language of `q` (search and every list's filter), turned into safe FTS5 expressions.

    exile                 a word (case and diacritics ignored: perigny finds Périgny)
    trots*                a word beginning so
    "permanent revolution" a phrase: these words, in this order ("permanent rev"* ends with a prefix)
    exile trotsky         both (AND may be written); OR for either; NOT to exclude: exile NOT france
    (exile OR deportation) trotsky   parentheses group

The expression is parsed here and written out again with every word quoted, so that nothing a user
types reaches FTS5's own parser as syntax: a malformed query (an unclosed quote or parenthesis, an
operator with nothing on one side) is a 400 naming `q`, never an FTS5 error (a 500).
"""

from __future__ import annotations

import re

from sqlalchemy import Integer, column, text
from sqlalchemy.sql.selectable import TextualSelect

from app.errors import bad_parameter

MAX_TERMS = 32
_TOKEN = re.compile(r'\s*(?:(")|(\()|(\))|([^\s"()]+))')
_OPERATORS = ("AND", "OR", "NOT")


class _Parser:
    """Recursive descent over: or := and (OR and)*; and := not ([AND] not)*; not := term (NOT term)*;
    term := word | word* | "phrase" | "phrase"* | ( or )."""

    def __init__(self, query: str, parameter: str) -> None:
        self.parameter = parameter
        self.tokens = self._tokens(query)
        self.at = 0
        self.terms = 0

    def error(self, message: str) -> Exception:
        return bad_parameter(self.parameter, message)

    def _tokens(self, query: str) -> list[tuple[str, str]]:
        if "\x00" in query:  # FTS5 would read it as the end of the string
            raise self.error("a NUL character cannot be searched for")
        tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(query):
            match = _TOKEN.match(query, position)
            if match is None:  # only trailing spaces are left
                break
            quote, opening, closing, word = match.groups()
            position = match.end()
            if quote:
                end = query.find('"', position)
                if end < 0:
                    raise self.error('a quote (") is not closed')
                phrase, position = query[position:end], end + 1
                prefix = query.startswith("*", position)
                position += prefix
                tokens.append(("phrase*" if prefix else "phrase", phrase))
            elif opening or closing:
                tokens.append(("paren", opening or closing))
            elif word in _OPERATORS:
                tokens.append(("operator", word))
            else:
                tokens.append(("word", word))
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def parse(self) -> str:
        if not self.tokens:
            raise self.error("give at least one word to search for")
        expression = self.either()
        token = self.peek()
        if token is not None:
            raise self.error(
                "a closing parenthesis has no opening one" if token[1] == ")" else f"unexpected {token[1]!r}"
            )
        if expression is None:
            raise self.error("give at least one word (letters or digits) to search for")
        return expression

    def either(self) -> str | None:
        parts = [self.both()]
        while self.peek() == ("operator", "OR"):
            self.at += 1
            parts.append(self.both())
        return self.join(parts, " OR ")

    def both(self) -> str | None:
        parts = [self.excluding()]
        while (token := self.peek()) is not None and token != ("operator", "OR") and token != ("paren", ")"):
            if token == ("operator", "AND"):
                self.at += 1
            parts.append(self.excluding())
        return self.join(parts, " AND ")

    def excluding(self) -> str | None:
        parts = [self.term()]
        while self.peek() == ("operator", "NOT"):
            self.at += 1
            parts.append(self.term())
        if len(parts) > 1 and parts[0] is None:
            raise self.error("NOT needs something to search for before it (exile NOT france)")
        if parts[0] is None:
            return None
        kept = [part for part in parts[1:] if part is not None]
        return parts[0] if not kept else "(" + " NOT ".join([parts[0], *kept]) + ")"

    def term(self) -> str | None:
        token = self.peek()
        if token is None:
            raise self.error("the query ends with an operator (AND, OR or NOT) that needs a word after it")
        kind, value = token
        self.at += 1
        if kind == "operator":
            raise self.error(f"{value} needs a word on each side")
        if value == "(":
            if self.peek() == ("paren", ")"):  # () groups nothing
                self.at += 1
                return None
            inner = self.either()
            if self.peek() != ("paren", ")"):
                raise self.error("a parenthesis is not closed")
            self.at += 1
            return inner
        if value == ")":
            raise self.error("a closing parenthesis has no opening one")
        prefix = kind == "phrase*" or (kind == "word" and value.endswith("*"))
        words = value.rstrip("*") if kind == "word" else value
        if not any(c.isalnum() for c in words):  # punctuation only: the tokenizer would find no word
            return None
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise self.error(f"at most {MAX_TERMS} words or phrases")
        return '"' + words.replace('"', '""') + '"' + ("*" if prefix else "")

    def join(self, parts: list[str | None], operator: str) -> str | None:
        kept = [part for part in parts if part is not None]  # punctuation-only terms are dropped
        if len(kept) <= 1:
            return kept[0] if kept else None
        return "(" + operator.join(kept) + ")"


def fts_query(query: str, parameter: str = "q") -> str:
    """The FTS5 MATCH expression for `query` in the language above; a 400 naming `parameter` if malformed."""
    return _Parser(query, parameter).parse()


def full_text_ids(fts_table: str, columns: tuple[str, ...] = ()) -> TextualSelect:
    """SELECT the ids (rowids) of the records whose full-text row matches :q (see fts_query), in
    `columns` only when given (an FTS5 column filter)."""
    match = f"'{{{' '.join(columns)}}} : (' || :q || ')'" if columns else ":q"
    return text(f"SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH {match}").columns(column("rowid", Integer))
