"""An index on donations(bank_ref): a returned transfer finds the gift it returns by its bank
reference on the same account (imports.services._original_find, pending_reversals_apply).

Created here, beside the code that needs it, so the donations app's migrations stay its own.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0001_initial"),
        ("donations", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS imports_donation_bank_ref ON donations_donation (bank_ref)",
            "DROP INDEX IF EXISTS imports_donation_bank_ref",
        ),
    ]
