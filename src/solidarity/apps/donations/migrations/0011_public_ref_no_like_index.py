"""On PostgreSQL, Django gives a unique text column a second index for LIKE 'prefix%'
(varchar_pattern_ops). Nothing looks a gift up by a prefix of its public reference (the
reference is found whole, by the unique index), and a random reference lands at a random
place of each: the second goes. SQLite has none."""

from django.db import migrations

from solidarity.db import plain_indexes_drop


def _like_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        plain_indexes_drop(schema_editor, "donations_donation", ["public_ref"])


def _like_index_create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            'CREATE INDEX IF NOT EXISTS "donations_donation_public_ref_1059e469_like" '
            'ON "donations_donation" ("public_ref" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    dependencies = [("donations", "0010_log_entries_name_their_gifts")]
    operations = [migrations.RunPython(_like_indexes_drop, _like_index_create)]
