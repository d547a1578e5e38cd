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
    # Unapplying keeps today's keys (nothing to undo in the schema); applying it again
    # re-keys only what is still under an old key.
    operations = [migrations.RunPython(rekey, migrations.RunPython.noop)]
