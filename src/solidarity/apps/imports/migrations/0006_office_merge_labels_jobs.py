"""The office's translated labels meet main's new choices; the two branches joined."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0004_office_status_labels"),
        ("imports", "0005_merge_identity_jobs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="import",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "queued (waiting for the import worker)"),
                    ("running", "running"),
                    ("done", "done"),
                    ("refused", "refused (nothing booked)"),
                    ("failed", "failed (re-run to finish)"),
                ],
                default="running",
                max_length=8,
            ),
        ),
    ]
