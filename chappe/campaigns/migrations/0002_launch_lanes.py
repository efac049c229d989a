"""Launch lanes (decision 0044): a launch under way keeps its place as its one lane."""

import django.db.models.deletion
from django.db import migrations, models


def cursors_to_lanes(apps, schema_editor):
    Campaign = apps.get_model("campaigns", "Campaign")
    LaunchLane = apps.get_model("campaigns", "LaunchLane")
    under_way = Campaign.objects.filter(snapshot_taken=True, launched_at__isnull=True)
    LaunchLane.objects.bulk_create(
        [LaunchLane(campaign_id=pk, lane=0, cursor=cursor)
         for pk, cursor in under_way.values_list("pk", "launch_cursor")])


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="LaunchLane",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("lane", models.PositiveSmallIntegerField()),
                ("cursor", models.CharField(blank=True, max_length=20)),
                ("upper", models.CharField(blank=True, max_length=20)),
                ("done", models.BooleanField(default=False)),
                ("campaign", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                               related_name="lanes", to="campaigns.campaign")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("campaign", "lane"),
                                                        name="launch_lane_unique")],
            },
        ),
        migrations.RunPython(cursors_to_lanes, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="campaign",
            name="launch_cursor",
        ),
    ]
