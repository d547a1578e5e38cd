"""Partners, their keys, intents and idempotency records, moved from the feeds app (feeds
0006) with their tables, which keep their names: only Django's state changes. The counters of
rate limits are new."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("campaigns", "0002_office_pages_updates_photos"),
        ("feeds", "0006_partners_to_own_app"),
    ]

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=200, unique=True)),
                ("hits", models.IntegerField(default=0)),
                ("expires_at", models.FloatField()),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Partner",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.SlugField(max_length=40, unique=True)),
                        ("scopes", models.JSONField(default=list)),
                        ("rate_per_minute", models.IntegerField(default=600)),
                        ("active", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "db_table": "feeds_partner",
                    },
                ),
                migrations.CreateModel(
                    name="Intent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("reference", models.CharField(max_length=20, unique=True)),
                        ("amount_minor", models.BigIntegerField()),
                        ("currency", models.CharField(max_length=3)),
                        ("donor_name", models.CharField(blank=True, max_length=120)),
                        ("privacy", models.CharField(default="masked", max_length=10)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="campaigns.campaign",
                            ),
                        ),
                        (
                            "partner",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                to="partners.partner",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "feeds_intent",
                    },
                ),
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("prefix", models.CharField(max_length=12)),
                        ("digest", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "partner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="keys",
                                to="partners.partner",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "feeds_apikey",
                    },
                ),
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("key", models.CharField(max_length=120)),
                        ("request_hash", models.CharField(max_length=64)),
                        ("done", models.BooleanField(default=False)),
                        ("status_code", models.IntegerField(default=0)),
                        ("response", models.JSONField(default=dict)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "partner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, to="partners.partner"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "feeds_idempotencyrecord",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("partner", "key"), name="idempotency_once"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
