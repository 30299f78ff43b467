"""Export, /v1/export: the whole database in the record format (app.export), streamed as a file download."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.export import dump_export, export_documents
from app.isolation import read_db, read_endpoint
from app.routers.common import LIST_ERRORS, conditional, list_validators, parse_query, query_docs
from app.routers.formats import ExportStream

router = APIRouter(prefix="/v1/export", tags=["import and export"])

MEDIA_TYPES = {"json": "application/json", "ndjson": "application/x-ndjson"}
RECORD = {"type": "object", "description": "A record in the record format (docs/data-format.md)."}
EXPORT_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every record, sources first, then places, people, works and events, each by slug.",
        "content": {
            "application/json": {"schema": {"type": "array", "items": RECORD}},
            "application/x-ndjson": {"schema": {"type": "string", "description": "One record (JSON) per line."}},
        },
    }
}


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["json", "ndjson"] = Field(
        "json", description="`json`: an array, one record a line; `ndjson`: one record a line."
    )


@router.get(
    "", summary="Export every record", responses={**EXPORT_FORMATS, **LIST_ERRORS},
    openapi_extra=query_docs(ExportQuery), name="export_records",
)  # fmt: skip
@read_endpoint
def export(request: Request) -> Response:
    """The whole database in the record format, a file that import takes back unchanged."""
    query = parse_query(request, ExportQuery)

    def download() -> Response:
        db = read_db(request).for_export()  # this export's own, in one read transaction: one snapshot
        return ExportStream(
            request, db, dump_export(export_documents(db), query.format), snapshot=True,
            media_type=MEDIA_TYPES[query.format],
            headers={"Content-Disposition": f'attachment; filename="chronicle-export.{query.format}"'},
        )  # fmt: skip

    return conditional(request, list_validators(request, query.format), download)
