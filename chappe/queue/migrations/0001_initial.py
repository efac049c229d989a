"""The job table, moved here from `runtime` (the roles now sit on top of the house and
the queue at its bottom): the model state adopts the existing `runtime_job` table, then
the table takes this app's name. No row moves."""

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("runtime", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='Job',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('payload', models.JSONField(default=dict)),
                        ('unique_key', models.CharField(blank=True, max_length=200, null=True, unique=True)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='pending', max_length=16)),
                        ('run_at', models.DateTimeField()),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('max_attempts', models.PositiveIntegerField(default=8)),
                        ('locked_by', models.CharField(blank=True, max_length=100)),
                        ('locked_until', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        'db_table': 'runtime_job',
                        'indexes': [models.Index(fields=['status', 'run_at'], name='job_claim_idx')],
                    },
                ),
        ]),
        migrations.AlterModelTable(name="job", table=None),
    ]
