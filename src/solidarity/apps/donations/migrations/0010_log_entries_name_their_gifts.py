"""Every gift's log entry names it (`transparency_logentry.gift`), as bookings now write it:
filled in here for the entries written before, matched by the gift's public reference. The
log's append-only triggers are lifted for this one UPDATE, which changes no published byte
(the column is not part of the entry), and put back."""

from django.db import migrations

from solidarity.db import append_only_triggers

TABLES = ("transparency_logentry",)

FILL = (
    "UPDATE transparency_logentry SET gift = (SELECT d.id FROM donations_donation d "
    "WHERE d.public_ref = transparency_logentry.ref) "
    "WHERE kind = 'donation' AND gift IS NULL"
)


def gifts_fill(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=False)
    schema_editor.execute(FILL)
    append_only_triggers(schema_editor, TABLES, create=True)


class Migration(migrations.Migration):
    dependencies = [
        ("donations", "0009_search_change_log_first_row"),
        ("transparency", "0007_log_gift_link"),
    ]
    operations = [migrations.RunPython(gifts_fill, migrations.RunPython.noop)]
