"""The tables of sources and their titles in other languages."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base, OtherTitle, Record, date_columns


class Source(Record):
    __tablename__ = "sources"
    __mapper_args__ = {"polymorphic_identity": "source"}  # noqa: RUF012

    id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(40))
    url: Mapped[str | None] = mapped_column(String(2000))
    author: Mapped[str | None] = mapped_column(String(500))
    publisher: Mapped[str | None] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    locals().update(date_columns("published"))


class SourceName(OtherTitle, Base):
    """A source's title in another language or script (migration 0015)."""

    __tablename__ = "source_names"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), index=True)
