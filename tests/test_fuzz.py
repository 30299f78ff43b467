"""The API fuzzed against its own OpenAPI document with schemathesis, in-process: every operation,
reads and writes (with an admin key), valid and invalid inputs, every check on. The statuses that
answer a schema-valid request correctly are in schemathesis.toml.

The stateful runs (create -> read -> change -> delete -> restore, following the document's links)
are in the CLI battery against a live server, .ci/fuzz: in-process, hypothesis refuses them as
flaky, since what a step draws depends on what the server answered before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import make_engine, make_sessionmaker
from app.keys import create_key
from app.main import create_app
from tests.conftest import make_database

pytestmark = pytest.mark.fuzz  # a battery: `-m "not fuzz"` leaves it out (pyproject.toml, markers)

CONFIG = Path(__file__).resolve().parent.parent / "schemathesis.toml"
EXAMPLES_PER_OPERATION = 8  # 52 operations, positive and negative: ~800 requests (.ci/fuzz makes thousands)


@pytest.fixture(scope="module")
def admin_key_and_app(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    url = make_database(tmp_path_factory.mktemp("fuzz") / "chronicle.sqlite3")
    engine = make_engine(url)
    session: Session
    with make_sessionmaker(engine).begin() as session:
        key = create_key(session, "fuzz", "admin")
    engine.dispose()
    return key, create_app(Settings(database_url=url))


@pytest.fixture(scope="module")
def api_schema(admin_key_and_app: tuple[str, Any]) -> Any:
    key, app = admin_key_and_app
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CHRONICLE_FUZZ_KEY", key)  # schemathesis.toml's [auth] reads it as the file is loaded
        config = schemathesis.config.SchemathesisConfig.from_path(CONFIG)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


# Every operation the document lists, known at collection: one test per operation and mode.
# (schemathesis's own pytest plugin, schemathesis.pytest.from_fixture, does not run on pytest 9.)
OPERATIONS = [
    f"{method.upper()} {path}"
    for path, operations in create_app(Settings(database_url="sqlite:///unused.sqlite3")).openapi()["paths"].items()
    for method in operations
]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("operation", OPERATIONS)
def test_every_operation_keeps_its_contract(api_schema: Any, operation: str, mode: GenerationMode) -> None:
    method, path = operation.split(" ")

    @hypothesis.given(case=api_schema[path][method].as_strategy(mode))
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )  # fmt: skip
    def call_and_validate(case: Any) -> None:
        case.call_and_validate()

    call_and_validate()
