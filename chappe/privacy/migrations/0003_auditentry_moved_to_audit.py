"""The audit trail now belongs to the `audit` app (its migration 0001 adopts and renames
the table): only the model state leaves this app."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("privacy", "0002_account_purge"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="AuditEntry"),
        ]),
    ]
