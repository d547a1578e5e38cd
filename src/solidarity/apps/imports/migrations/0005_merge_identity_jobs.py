from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0004_hostile_import_jobs"),
        ("imports", "0004_identity_rekey"),
    ]

    operations = []
