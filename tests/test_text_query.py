"""The text query language of `q`: what it means, and that no input reaches FTS5 as a syntax error."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain_errors import BadParameter
from app.queries.text import MAX_PREFIXES, MAX_TERMS, MIN_PREFIX_LENGTH, fts_query

pytestmark = pytest.mark.engine_neutral  # the query language, and its FTS5 form checked with sqlite3


@pytest.mark.parametrize(
    ("typed", "expression"),
    [
        ("exile", '"exile"'),
        ("trots*", '"trots"*'),
        ("exile trotsky", '("exile" AND "trotsky")'),
        ("exile AND trotsky", '("exile" AND "trotsky")'),
        ('"permanent revolution"', '"permanent revolution"'),
        ('"permanent rev"*', '"permanent rev"*'),
        ("exile OR deportation trotsky", '("exile" OR ("deportation" AND "trotsky"))'),
        ("(exile OR deportation) trotsky", '(("exile" OR "deportation") AND "trotsky")'),
        ("exile NOT france", '("exile" NOT "france")'),
        ("Büyükada (Prinkipo)", '("Büyükada" AND "Prinkipo")'),
        ("100% - done", '("100%" AND "done")'),  # punctuation alone is no word: dropped
        ("and or not", '("and" AND "or" AND "not")'),  # operators are upper case; these are words
        ('a"b"', '("a" AND "b")'),
    ],
)
def test_queries_become_quoted_fts5_expressions(typed: str, expression: str) -> None:
    assert fts_query(typed).fts5 == expression


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ('"unbalanced', "quote"),
        ("exile OR", "operator"),
        ("OR exile", "OR needs a word on each side"),
        ("NOT exile", "NOT needs a word on each side"),
        ("exile AND AND trotsky", "AND needs a word on each side"),
        ("(exile", "parenthesis is not closed"),
        ("exile)", "no opening one"),
        ("", "at least one word"),
        ("exile\x00", "NUL"),
        ("- * ()", "at least one word"),
        (" ".join(["w"] * (MAX_TERMS + 1)), f"at most {MAX_TERMS}"),
        # Prefixes are bounded: `a* OR b* OR ...` (32 one-letter prefixes) held a worker for seconds.
        ("e*", f"at least {MIN_PREFIX_LENGTH} letters or digits before the *"),
        ("trotsky e*", "e*: a prefix search needs"),
        ('"permanent r"*', '"permanent r"*: a prefix search needs'),
        (" OR ".join(["a*", "b*", "c*"]), "a*: a prefix search needs"),
        (" OR ".join(f"{letter}{letter}*" for letter in "abcdefgh"[: MAX_PREFIXES + 1]), f"at most {MAX_PREFIXES}"),
    ],
)
def test_malformed_or_too_broad_queries_are_refused_with_a_reason(typed: str, reason: str) -> None:
    with pytest.raises(BadParameter) as refused:
        fts_query(typed)
    assert refused.value.name == "q"
    assert reason in refused.value.reason


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from('ab é"()*-: ORANDNOT^+\x00'), max_size=40))
def test_every_accepted_query_is_valid_fts5(typed: str) -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize = 'unicode61 remove_diacritics 2')")
    connection.execute("INSERT INTO t VALUES ('a b é OR')")
    try:
        expression = fts_query(typed)
    except BadParameter:  # refused with a reason: fine
        return
    connection.execute("SELECT count(*) FROM t WHERE t MATCH ?", (expression.fts5,)).fetchone()
