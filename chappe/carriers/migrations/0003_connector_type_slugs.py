"""`Connector.type` holds the slug of a registered connector type instead of a class's
dotted path (settings.CHAPPE_CONNECTOR_TYPES maps one to the other). A row whose type is
neither a registered path nor a slug stops the migration, naming it: register the type
(or delete the row) and migrate again, rather than a carrier silently left out."""

from django.conf import settings
from django.db import migrations, models


def to_slugs(apps, schema_editor):
    Connector = apps.get_model("carriers", "Connector")
    slug_of = {path: slug for slug, path in settings.CHAPPE_CONNECTOR_TYPES.items()}
    unknown = []
    for row in Connector.objects.all():
        if row.type in settings.CHAPPE_CONNECTOR_TYPES:
            continue
        if row.type not in slug_of:
            unknown.append(f"{row.name} ({row.type})")
            continue
        row.type = slug_of[row.type]
        row.save(update_fields=["type"])
    if unknown:
        raise RuntimeError(
            "Connectors of unregistered types: " + ", ".join(unknown)
            + ". Add their classes to CHAPPE_CONNECTOR_TYPES (or delete them), then migrate"
            " again.")


def to_paths(apps, schema_editor):
    Connector = apps.get_model("carriers", "Connector")
    for slug, path in settings.CHAPPE_CONNECTOR_TYPES.items():
        Connector.objects.filter(type=slug).update(type=path)


class Migration(migrations.Migration):

    dependencies = [
        ("carriers", "0002_smpp_tables_from_smpp_server"),
    ]

    operations = [
        migrations.RunPython(to_slugs, to_paths),
        migrations.AlterField(
            model_name="connector",
            name="type",
            field=models.CharField(help_text="Connector type, e.g. smpp", max_length=64),
        ),
    ]
