"""Each account's Twilio-compatible Account SID (issue 17): added empty, drawn for the
accounts that exist, then made unique and required."""

import uuid

from django.db import migrations, models

import chappe.accounts.models


def draw(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    for account in Account.objects.filter(twilio_account_sid__isnull=True).only("pk"):
        Account.objects.filter(pk=account.pk).update(twilio_account_sid="AC" + uuid.uuid4().hex)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_api_key_names")]

    operations = [
        migrations.AddField(
            model_name="account", name="twilio_account_sid",
            field=models.CharField(max_length=34, null=True, editable=False)),
        migrations.RunPython(draw, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="account", name="twilio_account_sid",
            field=models.CharField(default=chappe.accounts.models.new_twilio_account_sid,
                                   editable=False, max_length=34, unique=True)),
    ]
