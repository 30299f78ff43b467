"""The tables of organisations, their names over time, their predecessors, people's memberships
and events' links to them (migration 0013)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base, Record, date_columns


class Organisation(Record):
    __tablename__ = "organisations"
    __table_args__: tuple[Any, ...] = (
        # Active in a year: founded before its end, dissolved after its start (or not at all).
        Index("ix_organisations_active", "founded_min_jdn", "dissolved_max_jdn", "id"),
    )
    __mapper_args__ = {"polymorphic_identity": "organisation"}  # noqa: RUF012

    id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    seat_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    part_of_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), index=True)
    locals().update(date_columns("founded"))
    locals().update(date_columns("dissolved"))


class OrganisationName(Base):
    """Another name of an organisation, in a language, with the years it was used (inclusive)."""

    __tablename__ = "organisation_names"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    language: Mapped[str | None] = mapped_column(String(12))
    from_year: Mapped[int | None]
    to_year: Mapped[int | None]
    note: Mapped[str | None] = mapped_column(Text)


class OrganisationPredecessor(Base):
    """An organisation that this one continued (a successor is the other side of the same row)."""

    __tablename__ = "organisation_predecessors"
    __table_args__ = (Index(None, "predecessor_id", "organisation_id"),)

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    predecessor_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True)


class Membership(Base):
    """A person's role in an organisation, with its own dates (a person's document holds them)."""

    __tablename__ = "memberships"
    __table_args__: tuple[Any, ...] = (Index(None, "organisation_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    locals().update(date_columns("start"))
    locals().update(date_columns("end"))


class EventOrganisation(Base):
    __tablename__ = "event_organisations"
    __table_args__ = (Index(None, "organisation_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="RESTRICT"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)
