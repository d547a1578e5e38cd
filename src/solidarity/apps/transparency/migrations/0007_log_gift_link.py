"""A "donation" entry names its gift (`gift`); `ref` is indexed only for other kinds.

The index on every entry's ref goes (dropped in place, found by introspection: its name
differs between the databases, and PostgreSQL has a second one for LIKE); SQLite would
otherwise rebuild the whole table, and with it drop the append-only triggers. The gifts'
ids are filled in by donations' 0010, which can read the gifts."""

from django.db import migrations, models

from solidarity.db import plain_indexes_drop


def _ref_indexes_drop(apps, schema_editor):
    plain_indexes_drop(schema_editor, "transparency_logentry", ["ref"])


def _ref_index_create(apps, schema_editor):
    schema_editor.execute(
        'CREATE INDEX "transparency_logentry_ref_2b7a54a3" ON "transparency_logentry" ("ref")'
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_office_pages_updates_photos"),
        ("transparency", "0006_logwitness_answered_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="logentry",
            name="gift",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="logentry",
                    name="ref",
                    field=models.CharField(max_length=32),
                ),
            ],
            database_operations=[migrations.RunPython(_ref_indexes_drop, _ref_index_create)],
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(
                condition=models.Q(("gift__isnull", False)), fields=["gift"], name="log_gift"
            ),
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(
                condition=models.Q(("kind", "donation"), _negated=True),
                fields=["ref"],
                name="log_ref_not_gift",
            ),
        ),
        migrations.AddIndex(
            model_name="logentry",
            index=models.Index(
                condition=models.Q(("kind", "donation"), _negated=True),
                fields=["campaign", "kind"],
                name="log_kind_not_gift",
            ),
        ),
    ]
