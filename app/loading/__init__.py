"""Loading records in the record format (docs/data-format.md) into the database, in parts.

`app.loader` is the face the rest of the code uses (`load_records`, `load_prepared`, `load_index`);
these modules are what it is made of, along the seams of a load:

- `records`: validating documents and turning each into the rows it becomes (`Prepared`); what a
  load reports (`LoadIssue`, `LoadError`, `LoadSummary`).
- `index`: pass 1 - every record read and validated, and folded into an `ImportIndex` of ~200 bytes
  a record (keys, hashes, parents, identifiers), then dropped; duplicates found here.
- `checks`: in the write transaction, the index against the database - references, identifiers,
  cycles, what exists, conflicts - into a `Plan` of what each record becomes. Nothing written yet.
- `write`: pass 2 - the input read again, type by type, and the records to write prepared and
  written in batches.
- `tables`: the tables and columns written, the driver-level INSERT, the revision history.

So an import holds the index and one batch of records at a time, whatever the input's size.
"""
