"""The database refuses UPDATE and DELETE of tranche events (who approved what, and when)."""

from django.db import migrations

from solidarity.db import append_only_triggers

TABLES = ("disbursements_trancheevent",)


def create_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=True)


def drop_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=False)


class Migration(migrations.Migration):
    dependencies = [
        ("disbursements", "0001_initial"),
        ("ledger", "0002_immutable"),
    ]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
