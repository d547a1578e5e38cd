"""The audit trail's table; the database refuses UPDATE and DELETE on it."""

from django.db import migrations, models

from solidarity.db import append_only_triggers

TABLES = ("accounts_auditevent",)


def create_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=True)


def drop_triggers(apps, schema_editor):
    append_only_triggers(schema_editor, TABLES, create=False)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_roles")]
    operations = [
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(db_index=True)),
                ("username", models.CharField(blank=True, max_length=150)),
                ("roles", models.CharField(blank=True, max_length=100)),
                (
                    "via",
                    models.CharField(
                        choices=[("admin", "Admin"), ("office", "Office"), ("cli", "Cli")],
                        max_length=10,
                    ),
                ),
                ("action", models.CharField(max_length=100)),
                ("target", models.CharField(blank=True, max_length=300)),
                ("detail", models.JSONField(blank=True, default=dict)),
                (
                    "ip",
                    models.CharField(
                        blank=True, help_text="client address, or host for CLI", max_length=64
                    ),
                ),
            ],
            options={"ordering": ("-at", "-id")},
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
