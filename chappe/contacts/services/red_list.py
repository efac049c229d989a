"""The red list (M-5): add, remove (audited, with a reason), import; who manages it.

By default the platform manages an account's red list: numbers that replied STOP can only
be taken off by the operator. A client may choose in writing to manage it itself
(`red_list_policy_set`): STOP replies are still added automatically, but every entry made
from then on is marked as the client's responsibility, and the client may remove any
entry (each removal audited with its reason).
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import Account
from chappe.accounts.roles import Perm
from chappe.audit.services import audit_record
from chappe.common.errors import Conflict, ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.fields import text_of
from chappe.contacts.models import OptOut, OptOutSource, RedListPolicy
from chappe.contacts.pseudonym import number_hashes
from chappe.contacts.selectors import opted_out_numbers, red_list_policy_get
from chappe.contacts.tabular import (
    UnreadableFile,
    is_blank,
    iter_rows,
    looks_like_header,
    parses_as_number,
    sniff,
)

MIN_REASON = 3
MIN_STATEMENT = 20
IMPORT_MAX_BYTES = 20 * 1024 * 1024
REPORTED_ERRORS = 100


@transaction.atomic
def red_list_policy_set(*, actor: Actor, account: Account, self_managed: bool,
                        statement: str = "") -> RedListPolicy:
    """Record the client's written choice of who manages its red list (M-5)."""
    actor.require(Perm.ACCOUNT_MANAGE)
    statement = (statement or "").strip()
    if self_managed and len(statement) < MIN_STATEMENT:
        raise ValidationFailed(details={"statement": [_(
            "Write the statement by which the company chooses to manage its red list and "
            "takes responsibility for it (at least %(n)d characters).") % {"n": MIN_STATEMENT}]})
    policy, _created = RedListPolicy.objects.select_for_update().get_or_create(account=account)
    policy.self_managed = self_managed
    policy.statement = statement[:5000]
    policy.decided_by = actor.label
    policy.decided_by_user = actor.user
    policy.decided_at = timezone.now()
    policy.save()
    audit_record(actor=actor, account=account, action="red_list.policy", target=policy,
                 details={"self_managed": self_managed, "statement": policy.statement})
    return policy


def _normalized(account: Account, number: str, source: str) -> str:
    number = (number or "").strip()
    try:
        return normalize(number, default_country=account.default_country).e164
    except InvalidNumber:
        if source == OptOutSource.STOP_REPLY and number:
            return number[:20]  # a STOP from a sender we cannot parse: kept as received
        raise ValidationFailed(details={"number": [_("Not a valid phone number.")]}) from None


def _erased_entry(account: Account, number: str) -> OptOut | None:
    """An erased entry (P-12) whose hash is this number's, if the account has any."""
    if not OptOut.objects.filter(account=account, number__isnull=True).exists():
        return None
    return OptOut.objects.filter(
        account=account, number_hash__in=number_hashes(account_id=account.pk, number=number)
    ).first()


def opt_out_add(*, actor: Actor, account: Account, number: str, source: str,
                note: str = "") -> OptOut:
    """Put a number on the red list; adding it again changes nothing. STOP replies come
    from the platform itself; other sources need the contacts permission."""
    if source not in OptOutSource.values:
        raise ValidationFailed(details={"source": [_("Unknown source.")]})
    if source != OptOutSource.STOP_REPLY:
        actor.require(Perm.CONTACTS_MANAGE)
    e164 = _normalized(account, number, source)
    existing = OptOut.objects.filter(account=account, number=e164).first()
    if existing is not None:
        return existing
    policy = red_list_policy_get(account=account)
    try:
        with transaction.atomic():
            erased = _erased_entry(account, e164)
            if erased is not None:
                # The number is known again (a new STOP, typed in): the entry gets it back.
                erased.number, erased.number_hash = e164, ""
                erased.save(update_fields=["number", "number_hash"])
                return erased
            opt_out = OptOut.objects.create(
                account=account, number=e164, source=source, responsible=policy.responsible,
                added_by="" if source == OptOutSource.STOP_REPLY else actor.label,
                note=(note or "").strip()[:200])
            audit_record(actor=actor, account=account, action="opt_out.add", target=opt_out,
                         details={"source": source, "responsible": policy.responsible})
    except IntegrityError:
        return OptOut.objects.get(account=account, number=e164)
    return opt_out


@transaction.atomic
def opt_out_remove(*, actor: Actor, opt_out: OptOut, reason: str) -> None:
    """Take an entry off the red list, with the reason why (audited)."""
    actor.require(Perm.CONTACTS_MANAGE)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValidationFailed(details={"reason": [_("Say why this number is taken off the "
                                                     "red list.")]})
    account = opt_out.account
    policy = red_list_policy_get(account=account)
    if (opt_out.source == OptOutSource.STOP_REPLY and not policy.self_managed
            and not actor.is_operator):
        raise Conflict(
            _("This number replied STOP. While the platform manages your red list, only the "
              "platform can take it off; or choose to manage the red list yourself."),
            code="platform_managed")
    audit_record(actor=actor, account=account, action="opt_out.remove", target=opt_out,
                 details={"reason": reason[:500], "source": opt_out.source,
                          "responsible": policy.responsible, "erased": opt_out.erased})
    opt_out.delete()


@dataclass
class RedListImport:
    added: int = 0
    already: int = 0
    duplicates: int = 0
    invalid: int = 0
    # (line, value, message) of the first rows in error.
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def opt_outs_import(*, actor: Actor, account: Account, data: bytes, file_name: str = "",
                    note: str = "") -> RedListImport:
    """Add every number of a CSV or XLSX file to the red list: the first cell of each row
    that is a phone number (a header row is recognised and skipped)."""
    actor.require(Perm.CONTACTS_MANAGE)
    if len(data) > IMPORT_MAX_BYTES:
        raise ValidationFailed(details={"file": [_("The file is larger than %(n)d MB.") % {
            "n": IMPORT_MAX_BYTES // 1024 // 1024}]})
    try:
        info = sniff(data, file_name)
        rows = list(iter_rows(data, info))
    except UnreadableFile as exc:
        raise ValidationFailed(details={"file": [exc.message]}) from None
    report = RedListImport()
    numbers: list[str] = []
    country = account.default_country
    for line, cells in enumerate(rows, start=1):
        if is_blank(cells):
            continue
        found = next((text_of(c) for c in cells if parses_as_number(c, country)), None)
        if found is None:
            if line == 1 and looks_like_header(cells, default_country=country):
                continue
            report.invalid += 1
            if len(report.errors) < REPORTED_ERRORS:
                value = next((text_of(c) for c in cells if text_of(c)), "")
                report.errors.append((line, value[:60], _("Not a phone number.")))
            continue
        numbers.append(normalize(found, default_country=country).e164)
    unique = list(dict.fromkeys(numbers))
    report.duplicates = len(numbers) - len(unique)
    listed = opted_out_numbers(account=account, numbers=unique)
    new = [n for n in unique if n not in listed]
    policy = red_list_policy_get(account=account)
    with transaction.atomic():
        OptOut.objects.bulk_create(
            [OptOut(account=account, number=n, source=OptOutSource.IMPORT,
                    responsible=policy.responsible, added_by=actor.label,
                    note=(note or file_name).strip()[:200]) for n in new],
            batch_size=1000, ignore_conflicts=True)
        report.added, report.already = len(new), len(listed)
        audit_record(actor=actor, account=account, action="opt_out.import",
                     details={"file": file_name[:200], "added": report.added,
                              "already": report.already, "invalid": report.invalid})
    return report
