from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("transparency", "0004_cluster_logfile"),
        ("transparency", "0004_witness_logwitness"),
    ]

    operations = []
