from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_office_pages_updates_photos"),
        ("donations", "0006_gifts_share_deposit_transactions"),
        ("ledger", "0002_immutable"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="donation",
            index=models.Index(fields=["bank_ref"], name="donation_bank_ref"),
        ),
    ]
