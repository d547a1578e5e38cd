"""The database itself refuses UPDATE and DELETE of posted books and booked gifts."""

from django.db import migrations

from solidarity.db import append_only_triggers

TABLES = (
    "ledger_journaltransaction",
    "ledger_posting",
    "donations_donation",
    "donations_reversal",
)


def create_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=True)


def drop_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=False)


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0001_initial"),
        ("donations", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_triggers, drop_triggers)]
