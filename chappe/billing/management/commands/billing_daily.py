from datetime import date

from django.core.management.base import BaseCommand

from chappe.billing.tasks import daily_run


class Command(BaseCommand):
    help = ("Run billing's daily work now: expire credits, end subscriptions, issue last "
            "month's invoices (idempotent), suspend for non-payment when enabled.")

    def add_arguments(self, parser):
        parser.add_argument("--month", help="Invoice this month instead (YYYY-MM).")

    def handle(self, *args, month=None, **options):
        first = date.fromisoformat(f"{month}-01") if month else None
        summary = daily_run(month=first)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in summary.items()))
