"""The statement's search index (see solidarity.apps.donations.search), per database."""

from django.core.exceptions import ImproperlyConfigured
from django.db import migrations

from solidarity.apps.donations.search import search_body

TABLE = "donations_search"


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        # rowid = donations_donation.id; detail=none keeps the index small and inserts fast
        # (the statement needs word and prefix matches, never phrases).
        schema_editor.execute(
            f"CREATE VIRTUAL TABLE {TABLE} USING fts5(body, tokenize='ascii', detail='none')"
        )
    elif vendor == "postgresql":
        schema_editor.execute(
            # No foreign key: rows are written in the booking transaction and never deleted,
            # and Django's test flush (TRUNCATE without CASCADE) must be able to empty it.
            f"CREATE TABLE {TABLE} (donation_id bigint PRIMARY KEY, body text NOT NULL)"
        )
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        schema_editor.execute(
            f"CREATE INDEX {TABLE}_body_trgm ON {TABLE} USING gin (body gin_trgm_ops)"
        )
    else:
        raise ImproperlyConfigured(
            f"Solidarity runs on SQLite or PostgreSQL; the statement search has no index for {vendor}"
        )
    # Gifts booked before this migration.
    Donation = apps.get_model("donations", "Donation")
    rows = []
    with schema_editor.connection.cursor() as cur:
        column = "rowid" if vendor == "sqlite" else "donation_id"
        for d in Donation.objects.values_list("id", "display_name", "memo_public", "public_ref"):
            rows.append((d[0], search_body(d[1], d[2], d[3])))
            if len(rows) >= 5000:
                cur.executemany(f"INSERT INTO {TABLE} ({column}, body) VALUES (%s, %s)", rows)  # noqa: S608 (constant names)
                rows = []
        if rows:
            cur.executemany(f"INSERT INTO {TABLE} ({column}, body) VALUES (%s, %s)", rows)  # noqa: S608 (constant names)


def drop(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {TABLE}")


class Migration(migrations.Migration):
    dependencies = [("donations", "0001_initial"), ("ledger", "0002_immutable")]
    operations = [migrations.RunPython(create, drop)]
