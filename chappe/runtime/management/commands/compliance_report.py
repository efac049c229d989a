"""`manage.py compliance_report`: a dry run of the periodic compliance jobs, as JSON —
what they would do now, nothing changed: terminations due (P-9), inactivity notices and
deletions (P-10), incidents past their acknowledgement deadline (C-12), recipients'
requests unanswered past their month (P-12), terminated accounts due for their purge
(P-9)."""

import json

from django.core.management.base import BaseCommand

from chappe.lifecycle.notices import inactivity_sweep, terminations_due
from chappe.notices.services import recipient_requests_overdue
from chappe.privacy.purge import accounts_purge_due
from chappe.support.services import sla_sweep


class Command(BaseCommand):
    help = "Dry run of the compliance jobs: what they would do now."

    def handle(self, *args, **options) -> None:
        report = {"terminations": terminations_due(dry_run=True),
                  "inactivity": inactivity_sweep(dry_run=True),
                  "support_sla_breaches": sla_sweep(dry_run=True),
                  "recipient_requests_overdue": recipient_requests_overdue(),
                  "purges": accounts_purge_due(dry_run=True)}
        self.stdout.write(json.dumps(report, indent=2))
