"""The office's translated labels and the conflicts branch joined."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0003_office_status_labels"),
        ("feeds", "0004_merge_conflicts_privacy"),
    ]

    operations = []
