"""The office's translated labels meet main's new choices; the two branches joined."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("disbursements", "0003_goods_donors_and_evidence"),
        ("disbursements", "0003_office_status_labels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="evidence",
            name="kind",
            field=models.CharField(
                choices=[
                    ("handover_minutes", "handover minutes"),
                    ("transfer_order", "transfer order"),
                    ("delivery_note", "delivery note"),
                    ("other", "other document"),
                ],
                default="other",
                max_length=20,
            ),
        ),
    ]
