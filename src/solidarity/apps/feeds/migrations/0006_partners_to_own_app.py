"""Partners, their keys, intents and idempotency records move to the partners app (partners
0001): only Django's state changes, their tables stay as they are. The per-minute request
counts are dropped: the partners app counts rate limits in a table of its own."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0005_office_merge_labels_conflicts"),
    ]

    operations = [
        migrations.DeleteModel(name="RateWindow"),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="idempotencyrecord",
                    name="partner",
                ),
                migrations.RemoveField(
                    model_name="intent",
                    name="campaign",
                ),
                migrations.RemoveField(
                    model_name="intent",
                    name="partner",
                ),
                migrations.DeleteModel(
                    name="ApiKey",
                ),
                migrations.DeleteModel(
                    name="IdempotencyRecord",
                ),
                migrations.DeleteModel(
                    name="Intent",
                ),
                migrations.DeleteModel(
                    name="Partner",
                ),
            ],
        ),
    ]
