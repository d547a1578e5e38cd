"""PostgreSQL: the statement's word index becomes a full-text (tsvector) GIN index.

The indexed text is already folded to ASCII words separated by spaces (search_body), so the
`simple` configuration's lexemes are exactly those words; whole words and prefixes are then
posting-list lookups, where trigrams of a common name matched hundreds of thousands of rows.
SQLite keeps its FTS5 table unchanged.
"""

from django.db import migrations

TABLE = "donations_search"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX {TABLE}_body_words ON {TABLE} USING gin (to_tsvector('simple', body))"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {TABLE}_body_trgm")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX {TABLE}_body_trgm ON {TABLE} USING gin (body gin_trgm_ops)"
    )
    schema_editor.execute(f"DROP INDEX IF EXISTS {TABLE}_body_words")


class Migration(migrations.Migration):
    dependencies = [("donations", "0003_walk_indexes")]
    operations = [migrations.RunPython(forward, backward)]
