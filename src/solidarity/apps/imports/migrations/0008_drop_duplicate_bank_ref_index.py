"""The gifts' bank-reference index created here (0002) is `donations.donation_bank_ref` since
donations' 0007. SQLite lost this one when it rebuilt the table; PostgreSQL kept both, and
every gift booked paid for the second."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0007_review_and_movements_to_banking"),
        ("donations", "0007_gift_bank_ref_index"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS imports_donation_bank_ref",
            "CREATE INDEX IF NOT EXISTS imports_donation_bank_ref ON donations_donation (bank_ref)",
        ),
    ]
