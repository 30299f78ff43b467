"""All SQL lives here: one module per resource. Functions take the read connection first and
keyword-only filters; they never open, commit or close it."""
