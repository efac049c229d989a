"""Launching a campaign: checks, operator review (M-9), and the durable acceptance of its
audience in the background.

`campaign_launch` checks the campaign and estimates it (credit, prices, operator skew),
then either holds it for the operator's review or starts it: one `Send`, and the launch
job on the durable queue. The job

1. freezes the audience in one transaction: `INSERT … SELECT` of the audience's contacts
   into `CampaignRecipient` (primary key (campaign, number): one message per number,
   M-6), the pasted numbers added with ON CONFLICT DO NOTHING, numbers stored before
   their country was derived normalised one by one (rare), unusable numbers dropped;
2. cuts it into `CHAPPE_LAUNCH_LANES` lanes by number (decision 0044) and accepts them
   side by side, each in number order, `CHAPPE_CAMPAIGN_CHUNK` recipients per
   transaction: personalised drafts go through `messages_accept` (sender rules, red
   list, rating, one prepaid debit per chunk), and the lane's cursor and the campaign's
   counters are written in the same transaction. While one lane's chunk is in
   PostgreSQL (its COPY, index updates, commit), another lane's is built in Python: the
   two took turns before. A job killed at any point resumes every lane from its last
   committed cursor: no recipient is lost or served twice.

Nothing per recipient is an ORM object or a phone-number parse: rows are tuples, the
destination country and operator come from the contact's derived columns.
"""

import contextlib
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import F, UUIDField, Value
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.audit.services import audit_record
from chappe.billing.errors import InsufficientCredit
from chappe.billing.money import from_micros
from chappe.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignStatus,
    LaunchLane,
    check_campaign_transition,
)
from chappe.campaigns.personalize import TemplateError
from chappe.campaigns.selectors import (
    Estimate,
    audience_contacts,
    campaign_audience,
    campaign_content,
    campaign_estimate,
    skew_policy,
    template_for,
    value_columns,
)
from chappe.campaigns.services.pacing import (
    HOLD,
    pause_locked,
    runs_enqueue,
    sample_take,
    snapshot_drop,
    statistics_refresh,
)
from chappe.campaigns.skew import SkewAction
from chappe.common.errors import ChappeError, Conflict, ValidationFailed
from chappe.common.numbers import InvalidNumber, normalize
from chappe.contacts.fields import text_of
from chappe.messaging.models import CAMPAIGN_CHANNEL, Message, Send
from chappe.messaging.rcs.send import agent_usable, agent_used, send_fields
from chappe.messaging.services.accept import Draft, messages_accept
from chappe.queue.jobs import job_heartbeat

C = CampaignStatus
# How often the launch job tells the queue it is alive while its lanes run.
HEARTBEAT_SECONDS = 5.0


def _check(estimate: Estimate) -> None:
    if not estimate.billable:
        raise ValidationFailed(_("Nobody in this audience can receive the campaign."),
                               code="empty_audience",
                               details={"recipients": estimate.recipients,
                                        "opted_out": estimate.opted_out,
                                        "invalid": estimate.invalid,
                                        "too_long": estimate.too_long})
    if estimate.unpriced:
        raise ValidationFailed(_("No price covers these destinations: %(countries)s.")
                               % {"countries": ", ".join(estimate.unpriced)},
                               code="no_price", details={"countries": estimate.unpriced})
    if estimate.short_of_credit:
        raise InsufficientCredit(details={
            "currency": estimate.currency, "required": str(from_micros(estimate.cost_micros)),
            "available": str(from_micros(estimate.available_micros or 0))})


def _start(campaign: Campaign, *, actor_label: str) -> None:
    """Start the launch of a checked campaign (locked by the caller)."""
    now = timezone.now()
    check_campaign_transition(campaign.status, C.LAUNCHING)
    # Held until the pacing releases it: see services/pacing.py.
    campaign.send = Send.objects.create(
        account=campaign.account, channel=CAMPAIGN_CHANNEL, kind=campaign.kind,
        sender=campaign.sender,
        text=campaign.text, send_at=HOLD, max_segments=campaign.max_segments,
        reference=campaign.name[:40], created_by=actor_label, **_rcs_fields(campaign))
    campaign.status, campaign.launch_requested_at = C.LAUNCHING, now
    campaign.run += 1
    campaign.save()
    runs_enqueue(campaign, at=now)


def _rcs_fields(campaign: Campaign) -> dict[str, Any]:
    """An RCS campaign's send carries what a single RCS send does (`rcs.send.send_fields`):
    its messages are then RCS ones, dispatched with the per-recipient SMS fallback."""
    if campaign.rcs_agent_id is None:
        return {}
    agent_used(campaign.rcs_agent)
    return send_fields(stored=campaign.rcs_content, agent=campaign.rcs_agent,
                       fallback_text=campaign.fallback_text,
                       fallback_after=campaign.fallback_after, kind=campaign.kind)


@transaction.atomic
def campaign_launch(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Launch a draft: see the module docstring. Refused (nothing changes) when nobody can
    receive it, a destination has no price, or the prepaid credit cannot pay for it."""
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=campaign.account, kind=ServiceKind.MESSAGING)
    campaign = (Campaign.objects.select_for_update().select_related("account")
                .get(pk=campaign.pk))
    check_campaign_transition(campaign.status, C.LAUNCHING)
    if campaign.rcs_agent_id is not None:
        agent_usable(campaign.rcs_agent)
    policy = skew_policy()
    estimate = campaign_estimate(account=campaign.account, audience=campaign_audience(campaign),
                                 content=campaign_content(campaign))
    if estimate.skews and policy.action is SkewAction.PRICE:
        campaign.operator_pricing = _operator_pricing(estimate)
        estimate = campaign_estimate(
            account=campaign.account, audience=campaign_audience(campaign),
            content=campaign_content(campaign), operator_pricing=campaign.operator_pricing)
    _check(estimate)
    campaign.currency = estimate.currency
    details = {"recipients": estimate.recipients, "cost_micros": estimate.cost_micros,
               "skews": len(estimate.skews)}
    if estimate.skews and policy.action is SkewAction.HOLD:
        campaign.status = C.REVIEW
        campaign.review = [{"country": s.country, "operator": s.operator, "code": s.code,
                            "recipients": s.recipients, "on_operator": s.on_operator,
                            "share": round(s.share, 4), "usual": s.usual}
                           for s in estimate.skews]
        campaign.save()
        audit_record(actor=actor, account=campaign.account, action="campaign.hold",
                     target=campaign, details=details)
        return campaign
    _start(campaign, actor_label=actor.label)
    audit_record(actor=actor, account=campaign.account, action="campaign.launch",
                 target=campaign, details=details)
    return campaign


def _operator_pricing(estimate: Estimate) -> dict[str, dict[str, str]]:
    pricing: dict[str, dict[str, str]] = {}
    for skew in estimate.skews:
        if skew.code:
            pricing.setdefault(skew.country, {})[skew.operator] = skew.code
    return pricing


@transaction.atomic
def campaign_review_release(*, actor: Actor, campaign: Campaign,
                            operator_price: bool) -> Campaign:
    """The operator lets a held campaign go, at the standard price or with the skewed
    operators' recipients at their operator-specific price (M-9)."""
    actor.require(Perm.SERVICES_MANAGE)
    campaign = (Campaign.objects.select_for_update().select_related("account")
                .get(pk=campaign.pk))
    if campaign.status != C.REVIEW:
        raise Conflict(_("This campaign is not held for review."), code="campaign_state",
                       details={"status": campaign.status})
    campaign.operator_pricing = {}
    if operator_price:
        for finding in campaign.review:
            if finding.get("code"):
                campaign.operator_pricing.setdefault(finding["country"], {})[
                    finding["operator"]] = finding["code"]
    campaign.reviewed_by, campaign.reviewed_at = actor.label, timezone.now()
    _start(campaign, actor_label=actor.label)
    audit_record(actor=actor, account=campaign.account, action="campaign.review_release",
                 target=campaign, details={"operator_price": operator_price})
    return campaign


@transaction.atomic
def campaign_review_refuse(*, actor: Actor, campaign: Campaign, reason: str) -> Campaign:
    """The operator refuses a held campaign: nothing was accepted, nothing is billed."""
    actor.require(Perm.SERVICES_MANAGE)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    check_campaign_transition(campaign.status, C.REFUSED)
    now = timezone.now()
    campaign.status, campaign.stop_reason = C.REFUSED, "refused"
    campaign.reviewed_by, campaign.reviewed_at, campaign.finished_at = actor.label, now, now
    campaign.save()
    audit_record(actor=actor, account=campaign.account, action="campaign.review_refuse",
                 target=campaign, details={"reason": reason})
    return campaign


# --- the launch job ---------------------------------------------------------------------


def _snapshot(campaign: Campaign) -> None:
    """Freeze the audience (in the caller's transaction); see the module docstring."""
    account = campaign.account
    contacts = audience_contacts(account=account, audience=campaign_audience(campaign))
    table = connection.ops.quote_name(CampaignRecipient._meta.db_table)
    key = CampaignRecipient._meta.get_field("campaign").get_db_prep_value(campaign.pk,
                                                                          connection)
    with contextlib.suppress(EmptyResultSet), connection.cursor() as cursor:  # no contact
        sql, params = contacts.values_list(
            "id", "mobile", "mobile_country", "mobile_operator").query.sql_with_params()
        cursor.execute(
            f"INSERT INTO {table} (campaign_id, number, country, operator, contact_id) "  # noqa: S608
            f"SELECT %s, a.mobile, a.mobile_country, a.mobile_operator, a.id FROM ({sql}) a",
            [key, *params])
    CampaignRecipient.objects.bulk_create(
        [CampaignRecipient(campaign=campaign, number=number) for number in campaign.numbers],
        batch_size=1000, ignore_conflicts=True)
    statistics_refresh(CampaignRecipient)
    mine = CampaignRecipient.objects.filter(campaign=campaign)
    invalid = []
    for number in list(mine.filter(country="").values_list("number", flat=True)):
        try:
            parsed = normalize(number, default_country=account.default_country)
        except InvalidNumber:
            parsed = None
        if parsed is None or len(parsed.country) != 2:
            invalid.append(number)
        elif parsed.e164 != number and mine.filter(number=parsed.e164).exists():
            invalid.append(number)  # the same person as another recipient (M-6)
        else:
            mine.filter(number=number).update(number=parsed.e164, country=parsed.country,
                                               operator=parsed.operator)
    for start in range(0, len(invalid), 900):
        mine.filter(number__in=invalid[start:start + 900]).delete()
    campaign.recipients = mine.count()
    campaign.invalid = len(invalid)
    campaign.snapshot_taken = True
    campaign.save(update_fields=["recipients", "invalid", "snapshot_taken", "updated_at"])


def _commit_without_waiting_for_the_disk() -> None:
    """PostgreSQL: this transaction's commit does not wait for its WAL to reach the disk
    (a fifth of a launch's time). Safe here: a chunk and its cursor are one transaction,
    so a database crash loses both or neither (the launch redoes the chunk), and nothing
    of the chunk can leave before a later, synchronous commit (a gateway's claim) has
    flushed the WAL up to and including it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _chunk_size() -> int:
    return settings.CHAPPE_CAMPAIGN_CHUNK


class _Overtaken(Exception):
    """The campaign was paused, canceled or restarted while a lane wrote its chunk."""


def _launching(campaign_id: Any, run: int) -> Campaign | None:
    campaign = (Campaign.objects.select_related("account", "send")
                .filter(pk=campaign_id).first())
    if campaign is None or campaign.run != run or campaign.status != C.LAUNCHING:
        return None
    return campaign


def _snapshot_step(campaign_id: Any, run: int) -> bool:
    """Freeze the audience and cut it into lanes, once; False when the launch is no
    longer this run's."""
    with transaction.atomic():
        campaign = (Campaign.objects.select_for_update(of=("self",))
                    .select_related("account", "send").filter(pk=campaign_id).first())
        if campaign is None or campaign.run != run or campaign.status != C.LAUNCHING:
            return False
        if not campaign.snapshot_taken:
            _snapshot(campaign)
            _lanes_cut(campaign)
        return True


def _lanes_cut(campaign: Campaign) -> None:
    """`CHAPPE_LAUNCH_LANES` lanes of about equal size, split at numbers of the snapshot
    (one lane for a snapshot of a chunk or less)."""
    count = max(1, min(settings.CHAPPE_LAUNCH_LANES, campaign.recipients // _chunk_size()))
    mine = CampaignRecipient.objects.filter(campaign=campaign).order_by("number")
    bounds = [mine.values_list("number", flat=True)[campaign.recipients * k // count - 1]
              for k in range(1, count)]
    LaunchLane.objects.bulk_create([
        LaunchLane(campaign=campaign, lane=k, cursor=bounds[k - 1] if k else "",
                   upper=bounds[k] if k < count - 1 else "") for k in range(count)])


def _accept_chunk(campaign_id: Any, run: int, lane: int) -> bool:
    """Accept the lane's next chunk in one transaction with its cursor and the campaign's
    counters; False when the lane is over or the launch no longer this run's.

    The campaign row is not locked while the chunk is written (the other lanes write
    theirs meanwhile): its counters are added to by one conditional UPDATE at the end,
    which finds no row — and rolls the chunk back — if the campaign was paused, canceled
    or restarted in the meantime. A lane's own row is locked for the whole chunk."""
    try:
        with transaction.atomic():
            _commit_without_waiting_for_the_disk()
            campaign = _launching(campaign_id, run)
            if campaign is None:
                return False
            mine = (LaunchLane.objects.select_for_update()
                    .filter(campaign_id=campaign.pk, lane=lane, done=False).first())
            if mine is None:
                return False
            template = template_for(account=campaign.account, text=campaign.text)
            content = campaign_content(campaign)
            columns = value_columns(template, prefix="contact__")
            todo = CampaignRecipient.objects.filter(campaign_id=campaign.pk,
                                                    number__gt=mine.cursor)
            if mine.upper:
                todo = todo.filter(number__lte=mine.upper)
            rows = list(todo.order_by("number").annotate(**columns)
                        .values_list("number", "country", "operator", *columns)[:_chunk_size()])
            if not rows:
                mine.done = True
                mine.save(update_fields=["done"])
                return False
            keys, pricing, texts = template.keys, campaign.operator_pricing, {}
            drafts = []
            for number, country, operator, *values in rows:
                text = texts.get(tuple(values))
                if text is None:
                    text = texts[tuple(values)] = content.final(
                        template, {key: text_of(v) for key, v in zip(keys, values, strict=True)})
                drafts.append(Draft(e164=number, country=country, operator=operator, text=text,
                                    rate_operator=pricing.get(country, {}).get(operator, "")))
            try:
                with transaction.atomic():
                    answers = messages_accept(account=campaign.account, send=campaign.send,
                                              drafts=drafts, max_segments=campaign.max_segments,
                                              product=content.product)
            except ChappeError as exc:  # no credit left, a price withdrawn…: stop, keep the rest
                locked = Campaign.objects.select_for_update(of=("self",)).get(pk=campaign.pk)
                if locked.run == run and locked.status == C.LAUNCHING:
                    pause_locked(locked, now=timezone.now(), reason=exc.code)
                return False
            mine.cursor = rows[-1][0]
            mine.save(update_fields=["cursor"])
            _count(campaign, run, rows=len(rows), answers=answers)
    except _Overtaken:
        return False
    return True


def _count(campaign: Campaign, run: int, *, rows: int, answers: list) -> None:
    """Add a chunk's outcomes to the campaign's counters, if it is still this run's
    launch (else `_Overtaken`, which rolls the chunk back)."""
    made = [a.message_id for a in answers if a.message_id is not None]
    changes: dict[str, Any] = {
        "processed": F("processed") + rows, "messages": F("messages") + len(made),
        "opted_out": F("opted_out") + sum(1 for a in answers if a.status == "opted_out"),
        "not_sent": F("not_sent") + len(answers) - len(made),
        "cost_micros": F("cost_micros") + sum(a.price_micros for a in answers),
        "updated_at": timezone.now()}
    if made:
        first, last = (Value(min(made), output_field=UUIDField()),
                       Value(max(made), output_field=UUIDField()))
        changes["first_message_id"] = Least(Coalesce("first_message_id", first), first)
        changes["last_message_id"] = Greatest(Coalesce("last_message_id", last), last)
    if not Campaign.objects.filter(pk=campaign.pk, run=run,
                                   status=C.LAUNCHING).update(**changes):
        raise _Overtaken


def _finish(campaign_id: Any, run: int) -> None:
    """Once every lane is over: the campaign runs (its waves begin)."""
    with transaction.atomic():
        campaign = (Campaign.objects.select_for_update(of=("self",))
                    .select_related("account", "send").filter(pk=campaign_id).first())
        if (campaign is None or campaign.run != run or campaign.status != C.LAUNCHING
                or campaign.lanes.filter(done=False).exists()):
            return
        now = timezone.now()
        campaign.status, campaign.launched_at = C.RUNNING, now
        campaign.save(update_fields=["status", "launched_at", "updated_at"])
        Send.objects.filter(pk=campaign.send_id).update(send_at=campaign.send_at)
        sample_take(campaign, now=now)


def _lane_run(campaign_id: Any, run: int, lane: int) -> None:
    """One lane's chunks until it is over, in a thread of its own (its own connection)."""
    try:
        while _accept_chunk(campaign_id, run, lane):
            pass
    finally:
        connection.close()


def campaign_launch_run(*, campaign_id: Any, run: int) -> None:
    """The launch job: snapshot, then the lanes side by side (each chunk committed with
    its lane's cursor) until the audience is accepted; the snapshot is emptied once the
    launch is over."""
    try:
        if not _snapshot_step(campaign_id, run):
            return
        lanes = list(LaunchLane.objects.filter(campaign_id=campaign_id, done=False)
                     .values_list("lane", flat=True))
        if len(lanes) == 1:
            while _accept_chunk(campaign_id, run, lanes[0]):
                job_heartbeat()
        elif lanes:
            with ThreadPoolExecutor(len(lanes), thread_name_prefix="launch-lane") as pool:
                pending = {pool.submit(_lane_run, campaign_id, run, lane) for lane in lanes}
                while pending:
                    done, pending = wait(pending, timeout=HEARTBEAT_SECONDS)
                    for future in done:
                        future.result()  # a lane's error is the job's
                    job_heartbeat()
        _finish(campaign_id, run)
    except TemplateError:
        # A custom field the template uses was deleted after the launch began: pause.
        with transaction.atomic():
            campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
            if campaign.status == C.LAUNCHING:
                pause_locked(campaign, now=timezone.now(), reason="invalid_template")
        return
    if Campaign.objects.filter(pk=campaign_id, launched_at__isnull=False).exists():
        snapshot_drop(campaign_id)
        statistics_refresh(Message)  # before the waves walk the new messages
