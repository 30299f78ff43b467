"""Audit the locked runtime dependencies (requirements.lock) for known vulnerabilities; exit 1 on any.

pip-audit asks PyPI's vulnerability service one version at a time (/pypi/NAME/VERSION/json). From
these machines that address answers 404 for every package (curl shows it), and OSV's service cannot
be reached at all, so pip-audit skips every package as "not found". This script then falls back to
what PyPI does answer: the project's own JSON (/pypi/NAME/json), whose `vulnerabilities` are those of
its latest release. A locked version that is the latest is audited that way; any other is reported as
not audited, by name. Where the per-version service answers, pip-audit audits everything itself.

    .venv/bin/python .ci/audit.py [requirements.lock]

Regenerate the lock after changing dependencies in pyproject.toml:
    uv pip compile pyproject.toml --python-version 3.11 --generate-hashes --no-header -o requirements.lock
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

PYPI = "https://pypi.org/pypi"


def main() -> int:
    lock = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "requirements.lock")
    done = subprocess.run(
        [Path(sys.executable).parent / "pip-audit", "-r", str(lock), "--require-hashes", "--disable-pip",
         "--progress-spinner", "off", "--format", "json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if not done.stdout.strip():
        print(done.stderr, file=sys.stderr)
        return 1
    report = json.loads(done.stdout)
    locked = dict(  # pip-audit leaves the version out of a skipped dependency
        line.split(" ")[0].split("==") for line in lock.read_text().splitlines() if "==" in line
    )
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    audited_by_pip_audit = 0
    for dependency in report["dependencies"]:
        if "skip_reason" in dependency:
            skipped.append((dependency["name"], dependency.get("version") or locked[dependency["name"]]))
            continue
        audited_by_pip_audit += 1
        found += [f"{dependency['name']} {dependency['version']}: {v['id']}" for v in dependency["vulns"]]

    audited_by_project_json = 0
    not_audited: list[str] = []
    with httpx.Client(timeout=30) as http:
        for name, version in skipped:
            answer = http.get(f"{PYPI}/{name}/json")
            if answer.status_code != 200:
                not_audited.append(f"{name} {version} (PyPI answered {answer.status_code})")
                continue
            project = answer.json()
            if project["info"]["version"] != version:
                not_audited.append(f"{name} {version} (PyPI's latest is {project['info']['version']})")
                continue
            audited_by_project_json += 1
            found += [f"{name} {version}: {v['id']} (fixed in {v.get('fixed_in')})" for v in project["vulnerabilities"]]

    total = len(report["dependencies"])
    print(f"{total} locked dependencies: {audited_by_pip_audit} audited by pip-audit, "
          f"{audited_by_project_json} from PyPI's project JSON, {len(not_audited)} not audited")  # fmt: skip
    for line in not_audited:
        print(f"  not audited: {line}")
    for line in found:
        print(f"  VULNERABLE: {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
