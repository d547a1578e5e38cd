"""A gift's journal transaction may be shared: a statement batch's gifts to one campaign
through one receiving account are booked as one deposit transaction whose lines they are.

SQLite rebuilds the table to drop the unique constraint, which drops its append-only
triggers: they are dropped before and created again after.
"""

from django.db import migrations, models

from solidarity.db import append_only_triggers

TABLES = ("donations_donation",)


def triggers_create(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=True)


def triggers_drop(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=False)


class Migration(migrations.Migration):
    dependencies = [
        ("donations", "0005_privacy_erasable_memo"),
        ("ledger", "0002_immutable"),
    ]
    operations = [
        migrations.RunPython(triggers_drop, triggers_create),
        migrations.AlterField(
            model_name="donation",
            name="txn",
            field=models.ForeignKey(
                on_delete=models.deletion.PROTECT,
                related_name="gifts",
                to="ledger.journaltransaction",
            ),
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
