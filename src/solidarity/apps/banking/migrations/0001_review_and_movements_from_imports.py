"""The review queue, account movements and pending returns, moved from the imports app
(imports 0007) with their tables, which keep their names: only Django's state changes."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("campaigns", "0002_office_pages_updates_photos"),
        ("donations", "0005_privacy_erasable_memo"),
        ("imports", "0007_review_and_movements_to_banking"),
        ("ledger", "0002_immutable"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="ReviewItem",
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
                        ("source", models.CharField(max_length=64)),
                        ("source_ref", models.CharField(max_length=200)),
                        ("source_kind", models.CharField(default="statement", max_length=16)),
                        ("bin", models.CharField(max_length=6)),
                        ("number", models.CharField(max_length=40)),
                        ("amount_minor", models.BigIntegerField()),
                        ("currency", models.CharField(max_length=3)),
                        ("booked_at", models.DateTimeField()),
                        ("bank_ref", models.CharField(blank=True, max_length=64)),
                        ("memo", models.TextField(blank=True)),
                        ("counterparty_name", models.CharField(blank=True, max_length=200)),
                        ("counterparty_account", models.CharField(blank=True, max_length=64)),
                        ("match_kind", models.CharField(help_text="none or several", max_length=8)),
                        ("reason", models.CharField(max_length=200)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("open", "open"),
                                    ("assigned", "assigned"),
                                    ("rejected", "not a gift"),
                                ],
                                default="open",
                                max_length=8,
                            ),
                        ),
                        ("decided_by", models.CharField(blank=True, max_length=150)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        ("decision_reason", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="campaigns.campaign",
                            ),
                        ),
                        (
                            "donation",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="donations.donation",
                            ),
                        ),
                        (
                            "imported",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="imports.import",
                            ),
                        ),
                        (
                            "movement_txn",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="ledger.journaltransaction",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "imports_reviewitem",
                        "ordering": ("id",),
                    },
                ),
                migrations.CreateModel(
                    name="ReviewCandidate",
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
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="campaigns.campaign",
                            ),
                        ),
                        (
                            "item",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="candidates",
                                to="banking.reviewitem",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "imports_reviewcandidate",
                    },
                ),
                migrations.CreateModel(
                    name="AccountMovement",
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
                        ("source", models.CharField(max_length=64)),
                        ("source_ref", models.CharField(max_length=200)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("fee", "bank fee"),
                                    ("transfer_out", "transfer out"),
                                    ("transfer_in", "transfer in"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("amount_minor", models.BigIntegerField()),
                        ("currency", models.CharField(max_length=3)),
                        ("booked_at", models.DateTimeField()),
                        ("bank_ref", models.CharField(blank=True, max_length=64)),
                        ("memo", models.TextField(blank=True)),
                        (
                            "campaign",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="campaigns.campaign",
                            ),
                        ),
                        (
                            "imported",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="imports.import",
                            ),
                        ),
                        (
                            "txn",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="ledger.journaltransaction",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "imports_accountmovement",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("source", "source_ref"), name="movement_once"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="PendingReversal",
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
                        ("source", models.CharField(max_length=64)),
                        ("source_ref", models.CharField(max_length=200)),
                        ("bin", models.CharField(max_length=6)),
                        ("number", models.CharField(max_length=40)),
                        ("reverses_ref", models.CharField(max_length=64)),
                        ("amount_minor", models.BigIntegerField()),
                        ("currency", models.CharField(max_length=3)),
                        ("booked_at", models.DateTimeField()),
                        ("memo", models.TextField(blank=True)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        ("decided_by", models.CharField(blank=True, max_length=150)),
                        ("decision_reason", models.CharField(blank=True, max_length=200)),
                        (
                            "donation",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to="donations.donation",
                            ),
                        ),
                        (
                            "imported",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                to="imports.import",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "imports_pendingreversal",
                        "indexes": [
                            models.Index(
                                fields=["bin", "number", "reverses_ref"],
                                name="imports_pen_bin_817a55_idx",
                            )
                        ],
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("source", "source_ref"), name="pending_reversal_once"
                            )
                        ],
                    },
                ),
                migrations.AddIndex(
                    model_name="reviewitem",
                    index=models.Index(
                        fields=["status", "id"], name="imports_rev_status_dc0de3_idx"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="reviewitem",
                    constraint=models.UniqueConstraint(
                        fields=("source", "source_ref"), name="review_once"
                    ),
                ),
                migrations.AddConstraint(
                    model_name="reviewcandidate",
                    constraint=models.UniqueConstraint(
                        fields=("item", "campaign"), name="review_candidate_once"
                    ),
                ),
            ],
        ),
    ]
