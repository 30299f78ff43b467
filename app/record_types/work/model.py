"""The tables of works, their titles in other languages, their creators and their subjects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base, OtherTitle, Record, date_columns


class Work(Record):
    __tablename__ = "works"
    __table_args__: tuple[Any, ...] = (
        Index("ix_works_published_overlap", "published_span_level", "published_min_jdn", "id", "published_max_jdn"),
    )
    __mapper_args__ = {"polymorphic_identity": "work"}  # noqa: RUF012

    id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(String(500), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(String(500))
    language: Mapped[str | None] = mapped_column(String(12))
    publication_place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    locals().update(date_columns("published"))


class WorkName(OtherTitle, Base):
    """A work's title in another language or script (migration 0014)."""

    __tablename__ = "work_names"

    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), index=True)


class WorkCreator(Base):
    __tablename__ = "work_creators"
    __table_args__ = (Index(None, "person_id", "work_id"),)

    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)


class WorkSubject(Base):
    __tablename__ = "work_subjects"
    __table_args__ = (Index(None, "subject", "work_id"),)

    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="CASCADE"), primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), primary_key=True)
