"""`manage.py lifecycle_report`: what the lifecycle jobs would do now (a dry run), as
JSON — terminations due, inactivity notices and deletions."""

import json

from django.core.management.base import BaseCommand

from chappe.lifecycle.notices import inactivity_sweep, terminations_due


class Command(BaseCommand):
    help = "Dry run of the lifecycle jobs: what they would do now."

    def handle(self, *args, **options) -> None:
        report = {"terminations": terminations_due(dry_run=True),
                  "inactivity": inactivity_sweep(dry_run=True)}
        self.stdout.write(json.dumps(report, indent=2))
