"""Messages: no database-level foreign key to their account and send (decision 0041)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_api_key_names'),
        ('messaging', '0008_message_usage_aggregate'),
    ]

    operations = [
        migrations.AlterField(
            model_name='message',
            name='account',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='accounts.account'),
        ),
        migrations.AlterField(
            model_name='message',
            name='send',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='messaging.send'),
        ),
    ]
