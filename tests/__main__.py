"""The README's test command: `.venv/bin/python -m tests [pytest options]`.

Runs the suite twice, on SQLite and then on PostgreSQL, each pass spread over the machine's cores
(pytest-xdist). Both passes always run and both report, even when the first fails; the exit status is
0 only if both passed (a pass that collected no test counts as failed). Options are passed to both
passes, e.g. `-m "not stress and not fuzz"` for a developer's quick run, or a test file's path.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def run_pass(engine: str, options: list[str], report: Path) -> tuple[int, float]:
    """One engine's pass in its own pytest process; its exit status and wall time."""
    print(f"\n=== The {ENGINES[engine]} pass ===", flush=True)
    started = time.monotonic()
    command = [
        sys.executable, "-m", "pytest", "--engine", engine, "-n", "auto", "--dist", "worksteal",
        f"--junitxml={report}", *options,
    ]  # fmt: skip
    status = subprocess.call(command)
    return status, time.monotonic() - started


def counts(report: Path) -> str:
    """ "1,650 passed, 12 skipped" from a pass's JUnit report (empty if it wrote none)."""
    if not report.exists():
        return "no report"
    root = ElementTree.parse(report).getroot()
    suite = root.find("testsuite") if root.tag == "testsuites" else root
    assert suite is not None
    failed, errors, skipped = (int(suite.get(name, 0)) for name in ("failures", "errors", "skipped"))
    passed = int(suite.get("tests", 0)) - failed - errors - skipped
    parts = [(passed, "passed"), (failed, "failed"), (errors, "errors"), (skipped, "skipped")]
    return ", ".join(f"{number:,} {what}" for number, what in parts if number or what == "passed")


def main(options: list[str]) -> int:
    results = []
    with tempfile.TemporaryDirectory(prefix="chronicle-tests-") as reports:
        for engine in ENGINES:
            report = Path(reports) / f"{engine}.xml"
            status, seconds = run_pass(engine, options, report)
            results.append((engine, status, seconds, counts(report)))
    print("\n=== Both passes ===")
    for engine, status, seconds, summary in results:
        verdict = "passed" if status == 0 else f"FAILED (pytest exit {status})"
        print(f"{ENGINES[engine]:<11} {verdict:<24} {summary}; {seconds / 60:.1f} min")
    return 0 if all(status == 0 for _, status, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
