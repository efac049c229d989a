"""What makes a commercial call lawful (C-5): consent records, ongoing-contract
exemptions, the Bloctel scrub (export of the prospects' numbers, import of the list that
comes back, kept as proof) and the account's opt-in setting."""

import hashlib
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize, number_facts
from chappe.contacts.models import Contact
from chappe.contacts.tabular import UnreadableFile, iter_rows, sniff
from chappe.dialer.models import (
    BloctelNumber,
    BloctelScrub,
    CallCampaign,
    CampaignState,
    Consent,
    ContractExemption,
    DialerPolicy,
)
from chappe.dialer.services.campaigns import bloctel_exclude

MAX_FILE_BYTES = 50 * 1024 * 1024


def _e164(account: Account, raw: str, field: str) -> str:
    try:
        return normalize(str(raw), default_country=account.default_country).e164
    except InvalidNumber:
        raise ValidationFailed(details={field: [_("Not a valid phone number.")]}) from None


@transaction.atomic
def consent_record(*, actor: Actor, account: Account, number: str, given_at: datetime,
                   source: str, proof: str) -> Consent:
    """A consumer's prior, explicit consent, with where it was given and its proof."""
    actor.require(Perm.AGENTS_SUPERVISE)
    errors = {}
    if given_at.tzinfo is None or given_at > timezone.now():
        errors["given_at"] = [_("A past date and time with its time zone.")]
    if not source.strip() or len(source) > 200:
        errors["source"] = [_("Say where the consent was given (at most 200 characters).")]
    if not proof.strip() or len(proof) > 10_000:
        errors["proof"] = [_("Keep the proof (at most 10,000 characters).")]
    e164 = _e164(account, number, "number")
    if errors:
        raise ValidationFailed(details=errors)
    consent = Consent.objects.create(account=account, number=e164, given_at=given_at,
                                     source=source.strip(), proof=proof,
                                     created_by=actor.label)
    audit_record(actor=actor, action="dialer.consent_record", account=account, target=consent,
                 details={"source": consent.source})
    return consent


@transaction.atomic
def consent_withdraw(*, actor: Actor, consent: Consent, at: datetime | None = None) -> Consent:
    actor.require(Perm.AGENTS_SUPERVISE)
    consent.withdrawn_at = at or timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    audit_record(actor=actor, action="dialer.consent_withdraw", account=consent.account,
                 target=consent)
    return consent


@transaction.atomic
def contract_exempt(*, actor: Actor, account: Account, number: str,
                    reference: str) -> ContractExemption:
    """Mark a consumer as under an ongoing contract: Bloctel and opt-in do not apply."""
    actor.require(Perm.AGENTS_SUPERVISE)
    if not reference.strip() or len(reference) > 200:
        raise ValidationFailed(details={"reference": [_("Name the contract (at most 200 "
                                                        "characters).")]})
    exemption, _created = ContractExemption.objects.update_or_create(
        account=account, number=_e164(account, number, "number"),
        defaults={"reference": reference.strip(), "created_by": actor.label})
    audit_record(actor=actor, action="dialer.contract_exempt", account=account,
                 target=exemption, details={"reference": exemption.reference})
    return exemption


@transaction.atomic
def dialer_policy_set(*, actor: Actor, account: Account, opt_in: bool) -> DialerPolicy:
    actor.require(Perm.ACCOUNT_MANAGE)
    policy, _created = DialerPolicy.objects.update_or_create(account=account,
                                                             defaults={"opt_in": opt_in})
    audit_record(actor=actor, action="dialer.policy_set", account=account, target=policy,
                 details={"opt_in": opt_in})
    return policy


def bloctel_export_lines(*, account: Account) -> Iterator[str]:
    """The account's prospect numbers for the Bloctel operator to scrub, one per line in
    the national format (0XXXXXXXXX) Bloctel files use: its contacts' mobile numbers and
    the numbers its call campaigns were given, French ones only, each once."""
    numbers = set(Contact.objects.filter(account=account, mobile__startswith="+33")
                  .values_list("mobile", flat=True))
    for given in CallCampaign.objects.filter(account=account).exclude(
            state__in=[CampaignState.STOPPED, CampaignState.FINISHED]).values_list(
            "numbers", flat=True):
        numbers.update(n for n in given if n.startswith("+33"))
    for number in sorted(numbers):
        facts = number_facts(number)
        if facts is not None:
            yield f"{facts.national_dialled}\n"


def numbers_in_file(*, account: Account, data: bytes, filename: str) -> tuple[set[str], int, int]:
    """The numbers of a plain list (one per line) or a CSV/XLSX file: in each row the
    first cell that is a phone number. Returns (numbers in E.164, rows, rows without one)."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed(details={"file": [_("At most 50 MB.")]})
    try:
        rows = iter_rows(data, sniff(data, filename))
        numbers: set[str] = set()
        lines = invalid = 0
        for row in rows:
            cells = [str(cell).strip() for cell in row if cell is not None and str(cell).strip()]
            if not cells:
                continue
            lines += 1
            for cell in cells:
                try:
                    numbers.add(normalize(cell, default_country=account.default_country).e164)
                    break
                except InvalidNumber:
                    continue
            else:
                invalid += 1
    except UnreadableFile as exc:
        raise ValidationFailed(details={"file": [exc.message]}, code=exc.code) from None
    return numbers, lines, invalid


@transaction.atomic
def bloctel_import(*, actor: Actor, account: Account, data: bytes, filename: str,
                   now: datetime | None = None) -> BloctelScrub:
    """Import the list of numbers to remove that the Bloctel operator returned: the file
    kept under DATA_DIR with its SHA-256 and counts (the proof of the scrub), the list in
    force from now on, and the consumers still to call in the account's campaigns on it
    excluded at once."""
    actor.require(Perm.AGENTS_SUPERVISE)
    now = now or timezone.now()
    numbers, lines, invalid = numbers_in_file(account=account, data=data, filename=filename)
    if lines == 0 or (invalid and not numbers and lines > 1):
        raise ValidationFailed(details={"file": [_("No phone number in this file.")]})
    digest = hashlib.sha256(data).hexdigest()
    folder = settings.DATA_DIR / "bloctel" / str(account.pk)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{now:%Y%m%dT%H%M%S}-{digest[:12]}.txt"
    path.write_bytes(data)
    scrub = BloctelScrub.objects.create(
        account=account, imported_at=now, filename=filename[:200] or "bloctel.txt",
        path=str(path.relative_to(settings.DATA_DIR)), sha256=digest, lines=lines,
        numbers=len(numbers), invalid=invalid, created_by=actor.label)
    BloctelNumber.objects.bulk_create((BloctelNumber(scrub=scrub, number=n) for n in numbers),
                                      batch_size=5000)
    excluded = 0
    for campaign in CallCampaign.objects.filter(
            account=account, state__in=[CampaignState.RUNNING, CampaignState.PAUSED]):
        excluded += bloctel_exclude(campaign=campaign, now=now)
    CallCampaign.objects.filter(account=account, hold_reason__startswith="C-5 bloctel") \
        .update(hold_reason="")
    scrub.excluded = excluded
    scrub.save(update_fields=["excluded"])
    audit_record(actor=actor, action="dialer.bloctel_import", account=account, target=scrub,
                 details={"numbers": scrub.numbers, "sha256": digest, "excluded": excluded})
    return scrub
