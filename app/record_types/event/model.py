"""The tables of events and of what they link: people, places, works, tags, titles in other languages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base, OtherTitle, Record, date_columns


class EventName(OtherTitle, Base):
    """An event's title in another language or script (migration 0015)."""

    __tablename__ = "event_names"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)


class Event(Record):
    __tablename__ = "events"
    __table_args__: tuple[Any, ...] = (
        # Overlap queries: one index range per span level, already in date order (queries.py).
        Index("ix_events_overlap", "date_span_level", "date_min_jdn", "id", "date_max_jdn"),
        Index("ix_events_date", "date_min_jdn", "id"),
        Index("ix_events_on_this_day", "date_month", "date_day", "date_min_jdn", "id"),
        Index("ix_events_on_this_day_recorded", "date_recorded_month", "date_recorded_day", "date_min_jdn", "id"),
        Index("ix_events_kind_date", "kind", "date_min_jdn", "id"),
    )
    __mapper_args__ = {"polymorphic_identity": "event"}  # noqa: RUF012

    id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    title: Mapped[str] = mapped_column(String(500))
    summary: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(40))
    part_of_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="RESTRICT"), index=True)
    locals().update(date_columns("date", required=True))


class EventPerson(Base):
    __tablename__ = "event_people"
    __table_args__ = (Index(None, "person_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class EventPlace(Base):
    __tablename__ = "event_places"
    __table_args__ = (Index(None, "place_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class EventWork(Base):
    __tablename__ = "event_works"
    __table_args__ = (Index(None, "work_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    work_id: Mapped[int] = mapped_column(ForeignKey("works.id", ondelete="RESTRICT"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True)


class EventTag(Base):
    __tablename__ = "event_tags"
    __table_args__ = (Index(None, "tag", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)
