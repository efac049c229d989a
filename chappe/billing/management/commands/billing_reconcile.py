from django.core.management.base import BaseCommand, CommandError

from chappe.billing.reconcile import reconcile


class Command(BaseCommand):
    help = "Verify cached balances, lots and invoices against the ledger; non-zero on mismatch."

    def handle(self, *args, **options):
        problems = reconcile()
        for problem in problems:
            self.stderr.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} mismatch(es) between the ledger and its caches")
        self.stdout.write("billing ledger reconciled: no mismatch")
