"""The tables of people and of their aliases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base, Record, date_columns

DATED = ("born", "died")  # a person's dates


UNDATED = text("born_min_jdn IS NULL AND died_min_jdn IS NULL")


class Person(Record):
    __tablename__ = "people"
    __table_args__: tuple[Any, ...] = (
        Index("ix_people_name_key", "name_key", "id"),
        # People with no life date, by name (`dated=false`, and the `unplaced` count of `alive_in`): few
        # beside the dated, so a partial index; a query names these very terms to use it on SQLite.
        Index("ix_people_undated", "name_key", "id", sqlite_where=UNDATED, postgresql_where=UNDATED),
        # Born and died in a year (overlap, as for events) and on a day of the year, newest first.
        *(Index(f"ix_people_{d}_overlap", f"{d}_span_level", f"{d}_min_jdn", "id", f"{d}_max_jdn") for d in DATED),
        *(Index(f"ix_people_{d}_on_this_day", f"{d}_month", f"{d}_day", f"{d}_min_jdn", "id") for d in DATED),
        *(
            Index(
                f"ix_people_{d}_on_this_day_recorded", f"{d}_recorded_month", f"{d}_recorded_day", f"{d}_min_jdn", "id"
            )
            for d in DATED
        ),
    )
    __mapper_args__ = {"polymorphic_identity": "person"}  # noqa: RUF012

    id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    # name_key(name), the list's order and what name_prefix matches. Always set by the loader; nullable
    # because SQLite adds a NOT NULL column to a filled table only by rebuilding it, which drops triggers.
    name_key: Mapped[str] = mapped_column(String(300), nullable=True)
    description: Mapped[str | None] = mapped_column(Text)
    birth_place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    death_place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    locals().update(date_columns("born"))
    locals().update(date_columns("died"))


class PersonAlias(Base):
    __tablename__ = "person_aliases"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(300), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(12))
