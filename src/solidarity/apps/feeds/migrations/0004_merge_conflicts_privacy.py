from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0003_conflicts_conflict"),
        ("feeds", "0003_privacy_intent_references"),
    ]

    operations = []
