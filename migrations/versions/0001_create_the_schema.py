"""create the schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 22:29:10.628163
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("type IN ('event', 'person', 'place', 'work', 'source')", name=op.f("ck_records_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_records")),
        sa.UniqueConstraint("type", "slug", name=op.f("uq_records_type_slug")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("part_of_id", sa.Integer(), nullable=True),
        sa.Column("date_edtf", sa.String(length=200), nullable=False),
        sa.Column("date_calendar", sa.String(length=9), nullable=False),
        sa.Column("date_end_calendar", sa.String(length=9), nullable=True),
        sa.Column("date_min_jdn", sa.Integer(), nullable=False),
        sa.Column("date_max_jdn", sa.Integer(), nullable=False),
        sa.Column("date_span_level", sa.Integer(), nullable=False),
        sa.Column("date_month", sa.Integer(), nullable=True),
        sa.Column("date_day", sa.Integer(), nullable=True),
        sa.Column("date_recorded_month", sa.Integer(), nullable=True),
        sa.Column("date_recorded_day", sa.Integer(), nullable=True),
        sa.Column("date_json", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["id"], ["records.id"], name=op.f("fk_events_id_records"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["part_of_id"], ["events.id"], name=op.f("fk_events_part_of_id_events"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_date", ["date_min_jdn", "id"], unique=False)
        batch_op.create_index("ix_events_kind_date", ["kind", "date_min_jdn", "id"], unique=False)
        batch_op.create_index("ix_events_on_this_day", ["date_month", "date_day", "date_min_jdn", "id"], unique=False)
        batch_op.create_index(
            "ix_events_on_this_day_recorded",
            ["date_recorded_month", "date_recorded_day", "date_min_jdn", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_events_overlap", ["date_span_level", "date_min_jdn", "id", "date_max_jdn"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_part_of_id"), ["part_of_id"], unique=False)

    op.create_table(
        "identifiers",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("scheme", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_identifiers_record_id_records"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("record_id", "scheme", name=op.f("pk_identifiers")),
        sa.UniqueConstraint("scheme", "value", name=op.f("uq_identifiers_scheme_value")),
    )
    op.create_table(
        "places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("latitude BETWEEN -90 AND 90", name=op.f("ck_places_latitude")),
        sa.CheckConstraint("longitude BETWEEN -180 AND 180", name=op.f("ck_places_longitude")),
        sa.ForeignKeyConstraint(["id"], ["records.id"], name=op.f("fk_places_id_records"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["places.id"], name=op.f("fk_places_parent_id_places"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_places")),
    )
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_places_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_places_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("author", sa.String(length=500), nullable=True),
        sa.Column("publisher", sa.String(length=500), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("published_edtf", sa.String(length=200), nullable=True),
        sa.Column("published_calendar", sa.String(length=9), nullable=True),
        sa.Column("published_end_calendar", sa.String(length=9), nullable=True),
        sa.Column("published_min_jdn", sa.Integer(), nullable=True),
        sa.Column("published_max_jdn", sa.Integer(), nullable=True),
        sa.Column("published_span_level", sa.Integer(), nullable=True),
        sa.Column("published_month", sa.Integer(), nullable=True),
        sa.Column("published_day", sa.Integer(), nullable=True),
        sa.Column("published_recorded_month", sa.Integer(), nullable=True),
        sa.Column("published_recorded_day", sa.Integer(), nullable=True),
        sa.Column("published_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["records.id"], name=op.f("fk_sources_id_records"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sources")),
    )
    op.create_table(
        "citations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("page", sa.String(length=100), nullable=True),
        sa.Column("quote", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"], ["records.id"], name=op.f("fk_citations_record_id_records"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_citations_source_id_sources"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citations")),
    )
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_citations_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_citations_source_id"), ["source_id"], unique=False)

    op.create_table(
        "event_places",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_places_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_event_places_place_id_places"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("event_id", "place_id", "role", name=op.f("pk_event_places")),
    )
    with op.batch_alter_table("event_places", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_places_place_id_event_id"), ["place_id", "event_id"], unique=False)

    op.create_table(
        "event_tags",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_tags_event_id_events"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", "tag", name=op.f("pk_event_tags")),
    )
    with op.batch_alter_table("event_tags", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_tags_tag_event_id"), ["tag", "event_id"], unique=False)

    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("birth_place_id", sa.Integer(), nullable=True),
        sa.Column("death_place_id", sa.Integer(), nullable=True),
        sa.Column("born_edtf", sa.String(length=200), nullable=True),
        sa.Column("born_calendar", sa.String(length=9), nullable=True),
        sa.Column("born_end_calendar", sa.String(length=9), nullable=True),
        sa.Column("born_min_jdn", sa.Integer(), nullable=True),
        sa.Column("born_max_jdn", sa.Integer(), nullable=True),
        sa.Column("born_span_level", sa.Integer(), nullable=True),
        sa.Column("born_month", sa.Integer(), nullable=True),
        sa.Column("born_day", sa.Integer(), nullable=True),
        sa.Column("born_recorded_month", sa.Integer(), nullable=True),
        sa.Column("born_recorded_day", sa.Integer(), nullable=True),
        sa.Column("born_json", sa.Text(), nullable=True),
        sa.Column("died_edtf", sa.String(length=200), nullable=True),
        sa.Column("died_calendar", sa.String(length=9), nullable=True),
        sa.Column("died_end_calendar", sa.String(length=9), nullable=True),
        sa.Column("died_min_jdn", sa.Integer(), nullable=True),
        sa.Column("died_max_jdn", sa.Integer(), nullable=True),
        sa.Column("died_span_level", sa.Integer(), nullable=True),
        sa.Column("died_month", sa.Integer(), nullable=True),
        sa.Column("died_day", sa.Integer(), nullable=True),
        sa.Column("died_recorded_month", sa.Integer(), nullable=True),
        sa.Column("died_recorded_day", sa.Integer(), nullable=True),
        sa.Column("died_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["birth_place_id"], ["places.id"], name=op.f("fk_people_birth_place_id_places"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["death_place_id"], ["places.id"], name=op.f("fk_people_death_place_id_places"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(["id"], ["records.id"], name=op.f("fk_people_id_records"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
    )
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_people_birth_place_id"), ["birth_place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_death_place_id"), ["death_place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_people_name"), ["name"], unique=False)

    op.create_table(
        "place_names",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=True),
        sa.Column("from_year", sa.Integer(), nullable=True),
        sa.Column("to_year", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["place_id"], ["places.id"], name=op.f("fk_place_names_place_id_places"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_place_names")),
    )
    with op.batch_alter_table("place_names", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_place_names_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_place_names_place_id"), ["place_id"], unique=False)

    op.create_table(
        "works",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("publisher", sa.String(length=500), nullable=True),
        sa.Column("language", sa.String(length=12), nullable=True),
        sa.Column("publication_place_id", sa.Integer(), nullable=True),
        sa.Column("published_edtf", sa.String(length=200), nullable=True),
        sa.Column("published_calendar", sa.String(length=9), nullable=True),
        sa.Column("published_end_calendar", sa.String(length=9), nullable=True),
        sa.Column("published_min_jdn", sa.Integer(), nullable=True),
        sa.Column("published_max_jdn", sa.Integer(), nullable=True),
        sa.Column("published_span_level", sa.Integer(), nullable=True),
        sa.Column("published_month", sa.Integer(), nullable=True),
        sa.Column("published_day", sa.Integer(), nullable=True),
        sa.Column("published_recorded_month", sa.Integer(), nullable=True),
        sa.Column("published_recorded_day", sa.Integer(), nullable=True),
        sa.Column("published_json", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["id"], ["records.id"], name=op.f("fk_works_id_records"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["publication_place_id"],
            ["places.id"],
            name=op.f("fk_works_publication_place_id_places"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_works")),
    )
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_works_publication_place_id"), ["publication_place_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_works_title"), ["title"], unique=False)

    op.create_table(
        "event_people",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_people_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_event_people_person_id_people"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("event_id", "person_id", "role", name=op.f("pk_event_people")),
    )
    with op.batch_alter_table("event_people", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_people_person_id_event_id"), ["person_id", "event_id"], unique=False)

    op.create_table(
        "event_works",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_works_event_id_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["work_id"], ["works.id"], name=op.f("fk_event_works_work_id_works"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("event_id", "work_id", "role", name=op.f("pk_event_works")),
    )
    with op.batch_alter_table("event_works", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_works_work_id_event_id"), ["work_id", "event_id"], unique=False)

    op.create_table(
        "person_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("language", sa.String(length=12), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_person_aliases_person_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_aliases")),
    )
    with op.batch_alter_table("person_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_aliases_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_aliases_person_id"), ["person_id"], unique=False)

    op.create_table(
        "work_creators",
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_work_creators_person_id_people"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["work_id"], ["works.id"], name=op.f("fk_work_creators_work_id_works"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("work_id", "person_id", "role", name=op.f("pk_work_creators")),
    )
    with op.batch_alter_table("work_creators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_creators_person_id_work_id"), ["person_id", "work_id"], unique=False)

    op.create_table(
        "work_subjects",
        sa.Column("work_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_id"], ["works.id"], name=op.f("fk_work_subjects_work_id_works"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("work_id", "subject", name=op.f("pk_work_subjects")),
    )
    with op.batch_alter_table("work_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_subjects_subject_work_id"), ["subject", "work_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("work_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_subjects_subject_work_id"))

    op.drop_table("work_subjects")
    with op.batch_alter_table("work_creators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_creators_person_id_work_id"))

    op.drop_table("work_creators")
    with op.batch_alter_table("person_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_aliases_person_id"))
        batch_op.drop_index(batch_op.f("ix_person_aliases_name"))

    op.drop_table("person_aliases")
    with op.batch_alter_table("event_works", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_works_work_id_event_id"))

    op.drop_table("event_works")
    with op.batch_alter_table("event_people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_people_person_id_event_id"))

    op.drop_table("event_people")
    with op.batch_alter_table("works", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_works_title"))
        batch_op.drop_index(batch_op.f("ix_works_publication_place_id"))

    op.drop_table("works")
    with op.batch_alter_table("place_names", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_place_names_place_id"))
        batch_op.drop_index(batch_op.f("ix_place_names_name"))

    op.drop_table("place_names")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_people_name"))
        batch_op.drop_index(batch_op.f("ix_people_death_place_id"))
        batch_op.drop_index(batch_op.f("ix_people_birth_place_id"))

    op.drop_table("people")
    with op.batch_alter_table("event_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_tags_tag_event_id"))

    op.drop_table("event_tags")
    with op.batch_alter_table("event_places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_places_place_id_event_id"))

    op.drop_table("event_places")
    with op.batch_alter_table("citations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_citations_source_id"))
        batch_op.drop_index(batch_op.f("ix_citations_record_id"))

    op.drop_table("citations")
    op.drop_table("sources")
    with op.batch_alter_table("places", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_places_parent_id"))
        batch_op.drop_index(batch_op.f("ix_places_name"))

    op.drop_table("places")
    op.drop_table("identifiers")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_part_of_id"))
        batch_op.drop_index("ix_events_overlap")
        batch_op.drop_index("ix_events_on_this_day_recorded")
        batch_op.drop_index("ix_events_on_this_day")
        batch_op.drop_index("ix_events_kind_date")
        batch_op.drop_index("ix_events_date")

    op.drop_table("events")
    op.drop_table("records")
