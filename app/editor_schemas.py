"""Wire models of the editors' endpoints (issue 5): query parameters, revisions, changes, imports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.registry import TYPES
from app.schemas import PageBase, PageQuery


class NoQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeleteQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unlink: bool = Field(
        False,
        description="Also remove the links other records have to this one (each of them gets a new revision). "
        "Without it, deleting a record that others link to is a 409 that names them.",
    )


class RestoreQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The revision to bring back; default: the last one before the deletion."
    )


class ChangesQuery(PageQuery):
    since: int = Field(
        0, ge=0, le=2**62, description="Changes after this `seq` (the last one a mirror has applied); 0: all."
    )


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(False, description="Validate and report what would be written, and write nothing.")
    on_conflict: Literal["fail", "skip", "overwrite"] = Field(
        "fail",
        description="Records an editor changed or deleted since they were loaded: `fail` (the default: nothing "
        "is written and each is reported), `skip` (keep the editor's version), `overwrite` (replace it).",
    )


class RevisionSummary(BaseModel):
    revision: int = Field(description="The record's revision number after this change (its ETag).", examples=[2])
    action: Literal["create", "update", "delete", "restore", "snapshot"] = Field(
        description="`snapshot`: the record as it was before its first recorded change (no author known)."
    )
    slug: str = Field(description="The record's slug after the change.")
    author: str = Field(description="The name of the API key (or the command) that made the change.")
    created_at: str = Field(description="When (UTC).")
    changed: list[str] = Field(description="Top-level fields whose values changed from the previous revision.")
    href: str


class RevisionPage(PageBase):
    items: list[RevisionSummary]


class RevisionDetail(RevisionSummary):
    document: dict[str, Any] | None = Field(
        description="The record after this change, in the import format; null for a deletion."
    )


class Change(BaseModel):
    seq: int = Field(description="Orders every change; pass the last one seen as `since`.")
    type: Literal[tuple(TYPES)]  # type: ignore[valid-type]  # the registry's record types
    slug: str = Field(description="The record's slug after the change.")
    revision: int
    action: Literal["create", "update", "delete", "restore", "snapshot"]
    author: str
    created_at: str
    href: str = Field(description="The revision, with its document.")


class ChangePage(PageBase):
    items: list[Change]


class ImportIssue(BaseModel):
    index: int | None = Field(description="The record's position in the input (0-based).")
    record: str = Field(description="Its type and slug, as far as they could be read.")
    field: str = Field(description="The field at fault, e.g. `people[0].person`.")
    reason: str


class ImportReport(BaseModel):
    dry_run: bool
    created: list[str] = Field(description="`type/slug` of each record created (or that would be).")
    updated: list[str]
    unchanged: int
    skipped: list[str] = Field(description="Records an editor changed since they were loaded, kept (`skip`).")
