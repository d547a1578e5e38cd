import secrets

from django.db import migrations
from django.utils import timezone


def first_row(apps, schema_editor):
    """The change log starts with one row, so a reader always finds a row that tells which
    history its postings came from (postings.py holds nothing while the log is empty)."""
    SearchChange = apps.get_model("donations", "SearchChange")
    if not SearchChange.objects.exists():
        SearchChange.objects.create(lo=0, hi=0, tag=secrets.randbits(62), at=timezone.now())


class Migration(migrations.Migration):
    dependencies = [
        ("donations", "0008_search_change_log"),
    ]

    operations = [
        migrations.RunPython(first_row, migrations.RunPython.noop),
    ]
