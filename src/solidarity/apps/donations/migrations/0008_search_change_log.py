from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("donations", "0007_gift_bank_ref_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("lo", models.BigIntegerField()),
                ("hi", models.BigIntegerField()),
                ("tag", models.BigIntegerField()),
                ("at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "indexes": [models.Index(fields=["at"], name="search_change_at")],
            },
        ),
    ]
