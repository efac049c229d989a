"""The SMPP connector's tables (inbox, part map, bind state), moved here from the SMPP
server's app (`smpp`), which sits above the carriers and must not be reached from them:
the model state adopts the existing `smpp_*` tables, then each table takes this app's
name. No row moves; the index and constraint names are explicit and stay."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("carriers", "0001_initial"),
        ("smpp", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
            migrations.CreateModel(
                name='SmppBindState',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('connector', models.CharField(max_length=64)),
                    ('process', models.CharField(max_length=128)),
                    ('slot', models.PositiveSmallIntegerField()),
                    ('mode', models.CharField(max_length=4)),
                    ('state', models.CharField(max_length=16)),
                    ('in_flight', models.PositiveIntegerField(default=0)),
                    ('submitted', models.BigIntegerField(default=0)),
                    ('errors', models.BigIntegerField(default=0)),
                    ('throttled', models.BigIntegerField(default=0)),
                    ('reconnects', models.BigIntegerField(default=0)),
                    ('msg_per_s', models.FloatField(default=0)),
                    ('last_error', models.CharField(blank=True, max_length=200)),
                    ('updated_at', models.DateTimeField()),
                ],
                options={
                    'db_table': 'smpp_smppbindstate',
                    'constraints': [models.UniqueConstraint(fields=('connector', 'process', 'slot'), name='one_bind_state_per_slot')],
                },
            ),
            migrations.CreateModel(
                name='SmppInbox',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('connector', models.CharField(max_length=64)),
                    ('kind', models.CharField(max_length=8)),
                    ('carrier_id', models.CharField(max_length=64)),
                    ('status', models.CharField(blank=True, max_length=16)),
                    ('error_code', models.CharField(blank=True, max_length=32)),
                    ('at', models.DateTimeField()),
                    ('from_number', models.CharField(blank=True, max_length=32)),
                    ('to', models.CharField(blank=True, max_length=32)),
                    ('data_coding', models.PositiveSmallIntegerField(default=0)),
                    ('body', models.BinaryField(blank=True, default=b'')),
                    ('concat_key', models.CharField(blank=True, max_length=120)),
                    ('part_seq', models.PositiveSmallIntegerField(default=1)),
                    ('part_total', models.PositiveSmallIntegerField(default=1)),
                    ('next_try_at', models.DateTimeField(blank=True, null=True)),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                ],
                options={
                    'db_table': 'smpp_smppinbox',
                    'indexes': [models.Index(fields=['connector', 'next_try_at'], name='smpp_inbox_due_idx'), models.Index(fields=['connector', 'carrier_id'], name='smpp_inbox_carrier_idx'), models.Index(fields=['connector', 'concat_key'], name='smpp_inbox_concat_idx')],
                },
            ),
            migrations.CreateModel(
                name='SmppPart',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('connector', models.CharField(max_length=64)),
                    ('head', models.CharField(max_length=64)),
                    ('smsc_id', models.CharField(max_length=64)),
                    ('seq', models.PositiveSmallIntegerField()),
                    ('total', models.PositiveSmallIntegerField()),
                    ('created_at', models.DateTimeField(auto_now_add=True)),
                ],
                options={
                    'db_table': 'smpp_smpppart',
                    'indexes': [models.Index(fields=['connector', 'smsc_id'], name='smpp_part_smsc_idx'), models.Index(fields=['connector', 'head'], name='smpp_part_head_idx')],
                },
            ),
        ]),
        migrations.AlterModelTable(name="smppbindstate", table=None),
        migrations.AlterModelTable(name="smppinbox", table=None),
        migrations.AlterModelTable(name="smpppart", table=None),
    ]
