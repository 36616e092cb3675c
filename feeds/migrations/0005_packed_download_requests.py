"""A download event holds its requests packed: time, first and last byte each.

Existing rows (one request each) keep their request: its time is the row's
``at`` and its range the row's ``first_byte`` to ``last_byte``.
"""

from django.db import migrations, models


def pack_existing(apps, schema_editor):
    from feeds.analytics import packed

    DownloadEvent = apps.get_model("feeds", "DownloadEvent")
    for event in DownloadEvent.objects.iterator(chunk_size=2000):
        event.requests = packed.pack(
            [packed.microseconds(event.at), event.first_byte, event.last_byte]
        )
        event.save(update_fields=["requests"])


class Migration(migrations.Migration):
    dependencies = [("feeds", "0004_publish_gate")]

    operations = [
        migrations.AddField(
            model_name="downloadevent",
            name="requests",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="downloadevent",
            name="request_count",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.RunPython(pack_existing, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField(model_name="downloadevent", name="first_byte"),
        migrations.RemoveField(model_name="downloadevent", name="last_byte"),
        migrations.RemoveField(model_name="downloadevent", name="status"),
    ]
