"""The OpenAPI document and the docs explorer, which must work with no internet."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import httpx
import pytest

from app.main import DOCS_ASSETS

pytestmark = pytest.mark.engine_neutral  # the OpenAPI document and the docs pages are the same on both engines


def test_openapi_is_3_1_and_every_operation_is_documented(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    operations = [(path, op) for path, item in spec["paths"].items() for op in item.values()]
    assert len(operations) >= 10
    for path, operation in operations:
        assert operation.get("summary"), path
        assert operation.get("description"), path
        assert "400" in operation["responses"], path
        # Bad parameters are 400s; 422 is a write's invalid record (it has a body).
        assert "422" not in operation["responses"] or "requestBody" in operation, path
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), (path, parameter["name"])
        if path.endswith("{slug}"):
            assert {"404", "410"} <= set(operation["responses"]), path


def test_operation_ids_read_as_generated_clients_name_functions(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids)), "every operation id is unique"
    assert all(re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", i) for i in ids), ids
    for expected in ("listEvents", "getEvent", "createEvent", "patchPerson", "deleteOrganisation",
                     "restoreWork", "listEventRevisions", "search", "getTimeline", "exportRecords"):  # fmt: skip
        assert expected in ids


def test_explorer_pages_load_only_local_assets(client: httpx.Client) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        remote = [url for url in re.findall(r"""(?:src|href)=["']([^"']+)""", html) if "://" in url]
        assert remote == [], (page, remote)
        for asset in re.findall(r"""["'](/static/docs/[^"']+)""", html):
            assert client.get(asset).status_code == 200, asset


def test_vendored_assets_match_their_checksums() -> None:
    manifest = json.loads((DOCS_ASSETS / "VENDORED.json").read_text())
    checked = 0
    for name, entry in manifest.items():
        assert hashlib.sha256((DOCS_ASSETS / name).read_bytes()).hexdigest() == entry["sha256"], name
        checked += 1
    assert checked >= 3


CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
if CHROMIUM is None and os.environ.get("CHRONICLE_REQUIRE_BROWSER"):
    raise RuntimeError("CHRONICLE_REQUIRE_BROWSER is set but Debian's chromium is not installed")


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize(("page", "selector"), [("/docs", ".opblock-summary"), ("/redoc", "[data-section-id]")])
def test_explorer_renders_in_headless_chromium_offline(base_url: str, page: str, selector: str) -> None:
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        context = browser.new_context()
        # No internet: any request that leaves this server fails the test unless it is only decoration.
        context.route(re.compile(r"^https?://(?!127\.0\.0\.1).*"), lambda route: route.abort())
        tab = context.new_page()
        tab.on("requestfailed", lambda request: failed.append(request.url))
        refused: list[str] = []  # what the page's Content-Security-Policy blocked
        tab.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None,
        )
        tab.goto(base_url + page)
        tab.wait_for_selector(selector, timeout=60_000)
        text = tab.inner_text("body")
        browser.close()
    assert "List events" in text and "Get one person" in text
    assert [text for text in refused if "cdn.redoc.ly" not in text] == []  # that logo: blocked, as meant
    # ReDoc's footer logo is an <img> from cdn.redoc.ly that hides itself when it cannot load.
    assert [url for url in failed if "cdn.redoc.ly" not in url] == []


def test_security_headers(client: httpx.Client) -> None:
    for path in ("/v1/events", "/v1/events/no-such-event", "/docs", "/openapi.json", "/healthz"):
        answer = client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert "server" not in answer.headers, path  # no banner
    policy = client.get("/docs").headers["content-security-policy"]
    assert (
        "script-src 'self' 'sha256-" in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in policy
    assert "content-security-policy" in client.get("/redoc").headers


def test_one_described_tag_per_resource(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    described = {tag["name"]: tag["description"] for tag in spec["tags"]}
    used = {tag for item in spec["paths"].values() for op in item.values() for tag in op.get("tags", ())}
    assert used <= described.keys() and all(described.values()), (used - described.keys(), described)
    assert list(described)[:2] == ["events", "people"]
    assert all(len(op.get("tags", ())) == 1 for item in spec["paths"].values() for op in item.values())
