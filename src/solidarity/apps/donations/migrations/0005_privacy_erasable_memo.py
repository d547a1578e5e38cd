"""Gifts' shown memos move to the erasable private record, masked by today's policy.

Gifts booked before keep their old `memo_public` column (the database refuses UPDATE of a
booked gift), but no page reads it any more: each private record gets `memo_shown` computed
from its raw memo (numbers masked; the donor's name masked unless the published name is the
name itself; nothing for an anonymous gift), and the search index is rebuilt from what is
shown, so an anonymous gift is no longer found by its memo.
"""

from django.db import migrations, models

from solidarity.apps.donations.search import search_body
from solidarity.core.privacy import memo_publish

BATCH = 2000


def shown_memos_fill(apps, schema_editor):
    connection = schema_editor.connection
    key = "rowid" if connection.vendor == "sqlite" else "donation_id"
    last = 0
    while True:
        with connection.cursor() as cur:
            cur.execute(
                "SELECT p.id, p.donation_id, p.donor_name, p.memo, d.display_name, d.public_ref"
                " FROM donations_donationprivate p"
                " JOIN donations_donation d ON d.id = p.donation_id"
                " WHERE p.id > %s ORDER BY p.id LIMIT %s",
                [last, BATCH],
            )
            rows = cur.fetchall()
            if not rows:
                return
            shown, bodies = [], []
            for pk, donation_id, name, memo, display, ref in rows:
                if display == "anonymous":
                    privacy = "anonymous"
                elif display == " ".join(name.split()):
                    privacy = "named"
                else:
                    privacy = "masked"
                text = memo_publish(privacy, memo, (name,), shown_name=display)[:500]
                shown.append((text, pk))
                bodies.append((search_body(display, text, ref), donation_id))
            cur.executemany(
                "UPDATE donations_donationprivate SET memo_shown = %s WHERE id = %s", shown
            )
            cur.executemany(
                f"UPDATE donations_search SET body = %s WHERE {key} = %s",  # noqa: S608 (constant)
                bodies,
            )
            last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [
        ("donations", "0004_search_words"),
    ]

    operations = [
        migrations.CreateModel(
            name="PrivacyReference",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reference", models.CharField(max_length=20, unique=True)),
                (
                    "privacy",
                    models.CharField(
                        choices=[
                            ("named", "the name the donor chose"),
                            ("masked", "a masked name"),
                            ("anonymous", "anonymous"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "donor_name",
                    models.CharField(blank=True, help_text="the name chosen", max_length=120),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.AddField(
            model_name="donationprivate",
            name="memo_shown",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.AlterField(
            model_name="donation",
            name="memo_public",
            field=models.CharField(blank=True, help_text="not shown", max_length=500),
        ),
        migrations.RunPython(shown_memos_fill, migrations.RunPython.noop, elidable=True),
    ]
