"""The text query language of `q` (search and every list's filter), turned into safe engine queries.

    exile                 a word (case and diacritics ignored: perigny finds Périgny)
    trots*                a word beginning so
    "permanent revolution" a phrase: these words, in this order ("permanent rev"* ends with a prefix)
    exile trotsky         both (AND may be written); OR for either; NOT to exclude: exile NOT france
    (exile OR deportation) trotsky   parentheses group

The expression is parsed here and written out again (app.dialects.fulltext: an FTS5 expression and
a PostgreSQL tsquery) with every word quoted, so that nothing a user types reaches the engine's own
parser as syntax: a malformed query (an unclosed quote or parenthesis, an operator with nothing on
one side) is a 400 naming `q`, never an engine error (a 500).
"""

from __future__ import annotations

import re

from app.dialects.fulltext import Node, TextQuery
from app.domain_errors import BadParameter

# Bounds on what one query may ask of the full-text index. A prefix is expanded into every indexed word
# that starts with it and their matches merged: `e*` alone is a good part of the index, and 32 of
# them (`a* OR b* OR ...`) held a worker for seconds. Words are cheap: each is one lookup.
MAX_TERMS = 32
MAX_PREFIXES = 4
MIN_PREFIX_LENGTH = 2  # letters or digits before the *
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
        self.prefixes = 0

    def error(self, message: str) -> Exception:
        return BadParameter(self.parameter, message)

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

    def parse(self) -> Node:
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

    def either(self) -> Node | None:
        parts = [self.both()]
        while self.peek() == ("operator", "OR"):
            self.at += 1
            parts.append(self.both())
        return self.join(parts, "or")

    def both(self) -> Node | None:
        parts = [self.excluding()]
        while (token := self.peek()) is not None and token != ("operator", "OR") and token != ("paren", ")"):
            if token == ("operator", "AND"):
                self.at += 1
            parts.append(self.excluding())
        return self.join(parts, "and")

    def excluding(self) -> Node | None:
        parts = [self.term()]
        while self.peek() == ("operator", "NOT"):
            self.at += 1
            parts.append(self.term())
        if len(parts) > 1 and parts[0] is None:
            raise self.error("NOT needs something to search for before it (exile NOT france)")
        if parts[0] is None:
            return None
        kept = [part for part in parts[1:] if part is not None]
        return parts[0] if not kept else ("not", [parts[0], *kept])

    def term(self) -> Node | None:
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
        if prefix:
            self._check_prefix(words, f"{words}*" if kind == "word" else f'"{words}"*')
        return ("prefix" if prefix else "words", words)

    def _check_prefix(self, words: str, written: str) -> None:
        """The last word (the one the * extends) is long enough, and the query has few prefixes."""
        stem = re.split(r"[^\w]+", words.strip())[-1] if words.strip() else ""
        if sum(c.isalnum() for c in stem) < MIN_PREFIX_LENGTH:
            raise self.error(
                f"{written}: a prefix search needs at least {MIN_PREFIX_LENGTH} letters or digits before the * "
                "(trots* rather than t*)"
            )
        self.prefixes += 1
        if self.prefixes > MAX_PREFIXES:
            raise self.error(
                f"at most {MAX_PREFIXES} prefix searches (word*) in one query; search for whole words, "
                "or split the query"
            )

    def join(self, parts: list[Node | None], operator: str) -> Node | None:
        kept = [part for part in parts if part is not None]  # punctuation-only terms are dropped
        if len(kept) <= 1:
            return kept[0] if kept else None
        return (operator, kept)


def fts_query(query: str, parameter: str = "q") -> TextQuery:
    """The engine queries for `query` in the language above; a 400 naming `parameter` if malformed."""
    return TextQuery.of(_Parser(query, parameter).parse())
