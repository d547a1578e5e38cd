"""Intents made before privacy references existed get one, so their donors' privacy choice
holds on every channel (a bank transfer carrying the intent's reference included)."""

from django.db import migrations


def references_add(apps, schema_editor):
    Intent = apps.get_model("feeds", "Intent")
    PrivacyReference = apps.get_model("donations", "PrivacyReference")
    known = set(PrivacyReference.objects.values_list("reference", flat=True))
    PrivacyReference.objects.bulk_create(
        [
            PrivacyReference(reference=i.reference, privacy=i.privacy, donor_name=i.donor_name)
            for i in Intent.objects.iterator()
            if i.reference not in known
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("feeds", "0002_notification_number_occurred_at"),
        ("donations", "0005_privacy_erasable_memo"),
    ]

    operations = [migrations.RunPython(references_add, migrations.RunPython.noop, elidable=True)]
