"""Stored bank-transaction identities move to IDENTITY.md's account-free keys, so a transfer
already booked from one format is recognised in every other (solidarity.apps.imports.rekey).
Only the de-duplication key `source_ref` changes; gifts, public references and the log do not.
"""

from django.db import migrations

from solidarity.apps.imports.rekey import identities_rekey


def rekey(apps, schema_editor):
    identities_rekey(
        model=apps.get_model,
        execute=schema_editor.execute,
        vendor=schema_editor.connection.vendor,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_pending_reversal_decision"),
        ("donations", "0004_search_words"),
        ("feeds", "0002_notification_number_occurred_at"),
        ("ledger", "0002_immutable"),
    ]
    # Not reversible: the code before this migration would not recognise the new keys.
    operations = [migrations.RunPython(rekey)]
