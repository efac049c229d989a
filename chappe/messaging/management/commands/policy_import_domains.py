"""`manage.py policy_import_domains FEED [--kind blocked|shortener] [--dry-run]`: add a
feed's domains (one a line, hosts-file lines, or CSV with the domain first) to the
content policy (M-11)."""

from pathlib import Path

from django.core.management.base import BaseCommand

from chappe.accounts.actor import SYSTEM
from chappe.messaging.content_policy.models import DomainKind
from chappe.messaging.content_policy.services import domains_import


class Command(BaseCommand):
    help = "Import a feed file of domains into the content policy's block or shortener list."

    def add_arguments(self, parser) -> None:
        parser.add_argument("feed", type=Path)
        parser.add_argument("--kind", choices=DomainKind.values, default=DomainKind.BLOCKED)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, feed: Path, kind: str, dry_run: bool, **options) -> None:
        with feed.open(encoding="utf-8", errors="replace", newline="") as lines:
            counts = domains_import(actor=SYSTEM, lines=lines, kind=kind, source=feed.name,
                                    dry_run=dry_run)
        prefix = "dry run: " if dry_run else ""
        self.stdout.write(f"{prefix}{counts['added']} added, {counts['known']} already "
                          f"listed, {counts['unreadable']} unreadable")
