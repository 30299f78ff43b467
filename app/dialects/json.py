"""JSON built by the database: a record's lists as JSON arrays inside its own statement (one round
trip for a whole record), and lists of ids passed as one JSON array parameter.

SQLite's JSON1 functions on one side, PostgreSQL's json functions on the other. PostgreSQL's
aggregates keep the order of a sorted sub-select (the idiom its manual gives for json_agg), and
return NULL for no rows, hence the coalesce. Its JSON text has a space around each colon: the same
JSON, other bytes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class SQLiteJson:
    def array(self, obj: str, rows: str) -> str:
        """A sub-select turning `rows` (in their order) into a JSON array of `obj`."""
        return f"(SELECT json_group_array(json({obj})) FROM ({rows}))"

    def object(self, *pairs: tuple[str, str]) -> str:
        """A JSON object of (key, SQL expression) pairs."""
        return "json_object(" + ", ".join(f"'{key}', {value}" for key, value in pairs) + ")"

    def embedded(self, column: str) -> str:
        """A column holding JSON text, as JSON (not as a string) inside other JSON."""
        return f"json({column})"

    def quoted(self, column: str) -> str:
        """A text column as a JSON string."""
        return f"json_quote({column})"

    def mapping(self, key: str, value: str, rows: str) -> str:
        """A sub-select turning `rows` into one JSON object {key: value}."""
        return f"(SELECT json_group_object({key}, {value}) FROM ({rows}))"

    def in_ids(self, param: str) -> str:
        """`IN` the integers of the JSON array bound to `param` (a page's ids: one parameter)."""
        return f"IN (SELECT value FROM json_each(:{param}))"


class PostgresJson:
    def array(self, obj: str, rows: str) -> str:
        return f"(SELECT coalesce(json_agg({obj}), '[]'::json) FROM ({rows}) AS rows)"

    def object(self, *pairs: tuple[str, str]) -> str:
        return "json_build_object(" + ", ".join(f"'{key}', {value}" for key, value in pairs) + ")"

    def embedded(self, column: str) -> str:
        return f"CAST({column} AS json)"

    def quoted(self, column: str) -> str:
        return f"to_json({column})"

    def mapping(self, key: str, value: str, rows: str) -> str:
        return f"(SELECT coalesce(json_object_agg({key}, {value}), '{{}}'::json) FROM ({rows}) AS rows)"

    def in_ids(self, param: str) -> str:
        return f"IN (SELECT CAST(value AS integer) FROM json_array_elements_text(CAST(:{param} AS json)))"


JsonSQL = SQLiteJson | PostgresJson
JSON: dict[str, JsonSQL] = {"sqlite": SQLiteJson(), "postgresql": PostgresJson()}


# --- Core: a JSON array parameter as rows (the timeline's buckets) ---------------------------------


class json_rows(FunctionElement[Any]):
    """The elements of the JSON array bound as the argument, as a table-valued function with one
    column, `value` (use .table_valued("value"))."""

    name = "json_rows"
    inherit_cache = True


@compiles(json_rows, "sqlite")
def _json_rows_sqlite(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_rows, "postgresql")
def _json_rows_postgresql(element: json_rows, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_array_elements(CAST({compiler.process(element.clauses, **kw)} AS json))"


class json_item(FunctionElement[int]):
    """Item `index` (a literal) of a JSON array value, as an integer."""

    name = "json_item"
    type = Integer()
    inherit_cache = False  # `index` changes the SQL; statements are compiled once per shape anyway

    def __init__(self, value: Any, index: int) -> None:
        self.index = index
        super().__init__(value)


@compiles(json_item, "sqlite")
def _json_item_sqlite(element: json_item, compiler: SQLCompiler, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.clauses, **kw)}, '$[{int(element.index)}]')"


@compiles(json_item, "postgresql")
def _json_item_postgresql(element: json_item, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)} ->> {int(element.index)}) AS integer)"
