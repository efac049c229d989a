"""The SMPP connector's tables now belong to the `carriers` app (its migration 0002
adopts and renames them): only the model state leaves this app."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("smpp", "0001_initial"),
        ("carriers", "0002_smpp_tables_from_smpp_server"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="SmppBindState"),
            migrations.DeleteModel(name="SmppInbox"),
            migrations.DeleteModel(name="SmppPart"),
        ]),
    ]
