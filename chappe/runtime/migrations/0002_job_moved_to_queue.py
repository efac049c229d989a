"""The job table now belongs to the `queue` app (its migration 0001 adopts and renames
it): only the model state leaves this app."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("runtime", "0001_initial"),
        ("queue", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.DeleteModel(name="Job"),
        ]),
    ]
