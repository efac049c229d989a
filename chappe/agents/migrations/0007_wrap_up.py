"""Wrap-up codes (issue 15), after the statistics' and CRM's migrations."""

import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0002_api_key_names'),
        ('agents', '0006_crm_lookup'),
    ]

    operations = [
        migrations.CreateModel(
            name='WrapUpCode',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=60, verbose_name='name')),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='accounts.account')),
            ],
            options={
                'ordering': ['name'],
                'abstract': False,
                'constraints': [models.UniqueConstraint(fields=('account', 'name'), name='wrap_up_code_name_per_account')],
            },
        ),
    ]
