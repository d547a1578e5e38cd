"""The review queue, account movements and pending returns move to the banking app
(banking 0001): only Django's state changes here, the tables stay as they are."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0006_office_merge_labels_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name="pendingreversal",
                    name="donation",
                ),
                migrations.RemoveField(
                    model_name="pendingreversal",
                    name="imported",
                ),
                migrations.RemoveField(
                    model_name="reviewcandidate",
                    name="campaign",
                ),
                migrations.RemoveField(
                    model_name="reviewcandidate",
                    name="item",
                ),
                migrations.RemoveField(
                    model_name="reviewitem",
                    name="campaign",
                ),
                migrations.RemoveField(
                    model_name="reviewitem",
                    name="donation",
                ),
                migrations.RemoveField(
                    model_name="reviewitem",
                    name="imported",
                ),
                migrations.RemoveField(
                    model_name="reviewitem",
                    name="movement_txn",
                ),
                migrations.DeleteModel(
                    name="AccountMovement",
                ),
                migrations.DeleteModel(
                    name="PendingReversal",
                ),
                migrations.DeleteModel(
                    name="ReviewCandidate",
                ),
                migrations.DeleteModel(
                    name="ReviewItem",
                ),
            ],
        ),
    ]
