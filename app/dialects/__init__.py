"""The SQL that differs between SQLite and PostgreSQL, one module per concern, both engines in each.

Queries are written once; where an engine needs its own SQL (building JSON, full-text search), they
take it from here: text fragments from a table keyed by `ReadConnection.dialect`, and Core elements
that compile to each engine's SQL (SQLAlchemy's `@compiles`). Nothing else tests which engine runs.
"""
