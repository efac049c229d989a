"""The audit trail, moved here from `privacy` (every app records into it, so it sits at
the bottom of the house): the model state adopts the existing `privacy_auditentry` table,
then the table and its index take this app's names. No row moves."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0001_initial"),
        ("privacy", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='AuditEntry',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('actor_label', models.CharField(max_length=254)),
                    ('is_operator', models.BooleanField(default=False)),
                    ('action', models.CharField(max_length=64)),
                    ('target_type', models.CharField(blank=True, max_length=64)),
                    ('target_id', models.CharField(blank=True, max_length=64)),
                    ('target_label', models.CharField(blank=True, max_length=254)),
                    ('details', models.JSONField(blank=True, default=dict)),
                    ('ip', models.GenericIPAddressField(blank=True, null=True)),
                    ('user_agent', models.CharField(blank=True, max_length=400)),
                    ('created_at', models.DateTimeField(auto_now_add=True, db_index=True)),
                    ('account', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.account')),
                    ('actor_api_key', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='accounts.apikey')),
                    ('actor_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ],
                options={
                    'verbose_name': 'audit entry',
                    'verbose_name_plural': 'audit entries',
                    'ordering': ['-created_at', '-id'],
                    'db_table': 'privacy_auditentry',
                    'indexes': [models.Index(fields=['account', '-created_at'], name='privacy_aud_account_8015a6_idx')],
                },
            ),
        ]),
        migrations.AlterModelTable(name="auditentry", table=None),
        migrations.RenameIndex(model_name="auditentry", new_name="audit_account_recent_idx",
                               old_name="privacy_aud_account_8015a6_idx"),
    ]
