"""Indexes are handed out at booking (LogHead) and log entries become append-only.

Entries still waiting for an index get theirs here, in id order after the highest one, which
is the order the sequencer would have given them.
"""

import django.db.models.deletion
from django.db import migrations, models

from solidarity.db import append_only_triggers

TABLES = ("transparency_logentry",)


def heads_create(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    LogEntry = apps.get_model("transparency", "LogEntry")
    LogHead = apps.get_model("transparency", "LogHead")
    for campaign in Campaign.objects.all():
        entries = LogEntry.objects.filter(campaign=campaign)
        indexed = entries.filter(index__isnull=False).count()
        if entries.filter(index__isnull=False, index__gte=indexed).exists():
            raise RuntimeError(f"log of {campaign.slug}: its indexes are not 0..{indexed - 1}")
        size = indexed
        for pk in entries.filter(index__isnull=True).order_by("id").values_list("pk", flat=True):
            LogEntry.objects.filter(pk=pk).update(index=size)
            size += 1
        LogHead.objects.create(campaign=campaign, size=size)


def create_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=True)


def drop_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=False)


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
        ("transparency", "0002_logstate"),
    ]

    operations = [
        migrations.CreateModel(
            name="LogHead",
            fields=[
                (
                    "campaign",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="log_head",
                        serialize=False,
                        to="campaigns.campaign",
                    ),
                ),
                ("size", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(heads_create, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="logentry", name="log_unsequenced"),
        migrations.AlterField(model_name="logentry", name="index", field=models.BigIntegerField()),
        migrations.RemoveField(model_name="logstate", name="size"),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
