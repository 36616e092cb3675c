"""A listening window keeps its opener's before-hash; processed log files go by delivery name.

Log files ingested from S3 were recorded as ``s3://bucket/key``, local ones by
their base name, so one delivery could count twice. Each S3 row now takes its
key's base name; where that name is recorded already (the file was counted
both ways), the S3 row goes: the delivery stays recorded once.
"""

from django.db import migrations, models


def by_delivery_name(apps, schema_editor):
    ProcessedLogFile = apps.get_model("feeds", "ProcessedLogFile")
    for row in ProcessedLogFile.objects.filter(name__startswith="s3://").iterator():
        name = row.name.rstrip("/").rsplit("/", 1)[-1]
        if ProcessedLogFile.objects.filter(name=name).exists():
            row.delete()
        else:
            row.name = name
            row.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [("feeds", "0005_packed_download_requests")]

    operations = [
        migrations.AddField(
            model_name="listeningwindow",
            name="listener_before",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        # Going back keeps the base names: the older code would then count a file
        # read again from S3 once more (it looks S3 files up as s3://bucket/key).
        migrations.RunPython(by_delivery_name, migrations.RunPython.noop),
    ]
