"""A launched campaign's messages leave in waves; pause, resume, cancel; progress samples.

Holding. A campaign's messages are accepted (rated, billed) *held*: scheduled with a due
time far in the future (`HOLD`), so the dispatcher's claim (`status in (queued,
scheduled) and due_at <= now`, by `due_at`) never sees them and stays as fast as before.
Once the whole audience is accepted, a pacing job releases them in waves: every
`CHAPPE_CAMPAIGN_TICK_SECONDS` it gives the next held messages (in id order, i.e.
acceptance order) a due time of now — as many as keep the campaign's released but not yet
sent backlog within one wave of `CHAPPE_CAMPAIGN_RATE` messages a second. A transactional
message accepted meanwhile is due now too, so it waits behind at most one wave of a
million-message campaign, never behind the whole campaign. Marketing waits for its
sending window (M-12): a wave stops at the first message whose country's window is closed
and the campaign resumes when it opens — deferred, never dropped, and never released all
at once at the opening.

Pausing re-holds what was released and not claimed by a gateway yet (what a gateway has
already claimed leaves); resuming walks the campaign again from its first message.
Canceling re-holds, then cancels the held messages in chunks, each chunk's charges
reversed (`messages_uncharge`: one batch reversal) in the same transaction (M-8: not
billed unless submitted).

Progress. A sample counts the campaign's messages by status (one GROUP BY over its send)
and is stored with its time: the progress page and API read the latest sample and the
curve, never counting a million rows per poll. Samples are taken every
`CHAPPE_CAMPAIGN_SAMPLE_SECONDS`, less often when counting takes long (at most 5 % of the
time) or when nothing changes, and when the campaign changes state.
"""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from chappe.accounts.actor import Actor
from chappe.accounts.models import ServiceKind
from chappe.accounts.roles import Perm
from chappe.accounts.services import service_require
from chappe.audit.services import audit_record
from chappe.campaigns.models import (
    Campaign,
    CampaignRecipient,
    CampaignSample,
    CampaignStatus,
    check_campaign_transition,
)
from chappe.campaigns.selectors import WAITING
from chappe.common.errors import Conflict
from chappe.messaging.lifecycle import MessageStatus
from chappe.messaging.models import Message
from chappe.messaging.services.accept import due_for, sending_windows, validity
from chappe.messaging.services.edit import messages_uncharge
from chappe.messaging.services.status import messages_transition
from chappe.queue.jobs import job_enqueue, job_heartbeat

C = CampaignStatus
M = MessageStatus
# The due time of a held message: a Monday noon (inside every default sending window, so
# marketing hours leave it as is), centuries ahead.
HOLD = datetime(2999, 1, 7, 12, tzinfo=UTC)
CANCEL_CHUNK = 1000
# A sample may take at most 1/SAMPLE_COST_FACTOR of the time between samples.
SAMPLE_COST_FACTOR = 20
MAX_IDLE = timedelta(minutes=10)


def tick() -> timedelta:
    return timedelta(seconds=settings.CHAPPE_CAMPAIGN_TICK_SECONDS)


def wave_size() -> int:
    return max(1, int(settings.CHAPPE_CAMPAIGN_RATE * settings.CHAPPE_CAMPAIGN_TICK_SECONDS))


# --- jobs ---------------------------------------------------------------------------------


def runs_enqueue(campaign: Campaign, *, at: datetime) -> None:
    """Start the campaign's background work for its current run (in the caller's
    transaction): the launch if it is not over, and the pacing."""
    if campaign.status == C.LAUNCHING:
        job_enqueue(name="campaigns.launch",
                    payload={"campaign_id": str(campaign.pk), "run": campaign.run},
                    unique_key=f"campaigns.launch:{campaign.pk}:{campaign.run}")
    _pace_enqueue(campaign, at=at, step=0)


def _pace_enqueue(campaign: Campaign, *, at: datetime, step: int) -> None:
    job_enqueue(name="campaigns.pace", run_at=at,
                payload={"campaign_id": str(campaign.pk), "run": campaign.run, "step": step},
                unique_key=f"campaigns.pace:{campaign.pk}:{campaign.run}:{step}")


def statistics_refresh(model: type[models.Model]) -> None:
    """PostgreSQL: refresh the planner's statistics of `model`'s table after a bulk write.
    A million rows the statistics do not know yet look like a few hundred, and walking
    them in key order (the launch's chunks, the waves, the cancellation) is then planned
    as a scan and sort of the whole rest of the range at each step."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def snapshot_drop(campaign_id: Any) -> None:
    """Empty a campaign's launch snapshot once no launch can need it any more."""
    CampaignRecipient.objects.filter(campaign_id=campaign_id).delete()


# --- samples ---------------------------------------------------------------------------------


def sample_take(campaign: Campaign, *, now: datetime) -> dict[str, int]:
    """Count the campaign's messages by status and keep the sample. The next one is due
    after `CHAPPE_CAMPAIGN_SAMPLE_SECONDS`; later when this count was slow (at most
    1/SAMPLE_COST_FACTOR of the time), and twice as late each time nothing changed (a
    campaign waiting for a sending window or for late receipts), up to `MAX_IDLE`."""
    started = time.monotonic()
    counts = dict(Message.objects.filter(send_id=campaign.send_id).values_list("status")
                  .annotate(n=Count("pk")).order_by()) if campaign.send_id else {}
    took = time.monotonic() - started
    interval = timedelta(seconds=max(settings.CHAPPE_CAMPAIGN_SAMPLE_SECONDS,
                                     took * SAMPLE_COST_FACTOR))
    previous = CampaignSample.objects.filter(campaign=campaign).order_by("-at", "-id").first()
    if previous is not None and previous.counts == counts:
        interval = min(max(interval, (now - previous.at) * 2), MAX_IDLE)
    CampaignSample.objects.create(campaign=campaign, at=now, counts=counts)
    campaign.next_sample_at = now + interval
    Campaign.objects.filter(pk=campaign.pk).update(next_sample_at=campaign.next_sample_at)
    return counts


def _unfinished(counts: dict[str, int]) -> int:
    return sum(counts.get(status, 0) for status in (*WAITING, M.SENT))


# --- releasing ---------------------------------------------------------------------------------


def _campaign_messages(campaign: Campaign, *, after: Any, limit: int) -> tuple[list[tuple], Any]:
    """The campaign's messages among the next `limit` rows of its id range after `after`
    (None: from its first message), in id order, as (id, status, due_at, country,
    locked_until); and the last id examined (None past the end of the range). The walk
    reads the primary-key index over the campaign's id range (other sends' messages
    accepted meanwhile are skipped here), so its plan never depends on statistics."""
    rows = Message.objects.filter(pk__lte=campaign.last_message_id)
    rows = rows.filter(pk__gt=after) if after else rows.filter(pk__gte=campaign.first_message_id)
    batch = list(rows.order_by("pk").values_list(
        "pk", "send_id", "status", "due_at", "country", "locked_until")[:limit])
    if not batch:
        return [], None
    return ([(pk, *rest) for pk, send_id, *rest in batch if send_id == campaign.send_id],
            batch[-1][0])


def _backlog(campaign: Campaign) -> int:
    """The campaign's released messages not sent yet. The dispatcher claims the oldest
    due first, so these are among the last released: the count reads the two last waves'
    worth of the campaign's id range backwards from the release cursor (primary-key
    index), never the whole send."""
    if campaign.release_cursor is None:
        return 0
    recent = (Message.objects.filter(pk__lte=campaign.release_cursor,
                                     pk__gte=campaign.first_message_id)
              .order_by("-pk").values_list("send_id", "status", "due_at")[:2 * wave_size()])
    return sum(1 for send_id, status, due_at in recent
               if send_id == campaign.send_id and status in (M.SCHEDULED, M.QUEUED)
               and due_at < HOLD)


def _release_wave(campaign: Campaign, *, now: datetime) -> datetime | None:
    """Release the next wave of a launched campaign (in the caller's transaction).
    Returns when to come back: the next tick while messages are left to release, the
    opening of a closed sending window, or None once every message was released."""
    if campaign.first_message_id is None:
        return None
    room = wave_size() - _backlog(campaign)
    if room <= 0:
        return now + tick()
    zone, windows = campaign.account.timezone, sending_windows()
    dues: dict[str, datetime] = {}
    released: list[Any] = []
    cursor, opens, end = campaign.release_cursor, None, False
    while len(released) < room and opens is None and not end:
        rows, last = _campaign_messages(campaign, after=cursor, limit=room * 2)
        end = last is None
        for pk, status, due_at, country, _locked in rows:
            if status == M.SCHEDULED and due_at >= HOLD:
                if country not in dues:
                    dues[country] = due_for(base=now, kind=campaign.kind, country=country,
                                            zone=zone, windows=windows)
                if dues[country] > now:
                    opens = dues[country]  # its sending window is closed (M-12): wait
                    break
                released.append(pk)
            cursor = pk
            if len(released) == room:
                break
        else:
            cursor = last or cursor
    if released:
        Message.objects.filter(pk__in=released, status=M.SCHEDULED, due_at__gte=HOLD).update(
            due_at=now, expires_at=now + validity())
    campaign.release_cursor = cursor
    campaign.released += len(released)
    Campaign.objects.filter(pk=campaign.pk).update(release_cursor=cursor,
                                                   released=campaign.released)
    if opens is not None:
        return opens
    return None if end else now + tick()


def _hold_queued(messages: QuerySet[Message], *, now: datetime) -> list[Any]:
    """Hold again the queued messages among `messages` that no gateway has claimed (their
    rows locked first, so a gateway cannot claim them meanwhile). Returns their ids."""
    ids = list(messages.select_for_update().filter(status=M.QUEUED)
               .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
               .values_list("pk", flat=True))
    held = messages_transition(ids, M.SCHEDULED, at=now, detail="campaign stopped",
                               allowed_from=(M.QUEUED,),
                               updates={pk: {"due_at": HOLD, "expires_at": HOLD + validity()}
                                        for pk in ids})
    return [message.pk for message in held]


def _hold_waiting(campaign: Campaign, *, now: datetime) -> None:
    """Hold again what was released and not claimed by a gateway (in the caller's
    transaction). A message a gateway holds a lease on is leaving: it is left alone."""
    if campaign.send_id is None:
        return
    Message.objects.filter(send_id=campaign.send_id, status=M.SCHEDULED, due_at__lt=HOLD).update(
        due_at=HOLD, expires_at=HOLD + validity())
    _hold_queued(Message.objects.filter(send_id=campaign.send_id), now=now)


def campaign_pace(*, campaign_id: Any, run: int, step: int) -> None:
    """One pacing step (a job): release a wave, sample when due, complete the campaign
    when every message is final, and schedule the next step."""
    now = timezone.now()
    with transaction.atomic():
        campaign = (Campaign.objects.select_for_update().select_related("account")
                    .filter(pk=campaign_id).first())
        if campaign is None or campaign.run != run or campaign.status not in (
                C.LAUNCHING, C.RUNNING):
            return
        if campaign.send_at is not None and campaign.send_at > now:
            _pace_enqueue(campaign, at=campaign.send_at, step=step + 1)
            return
        # Waves start once the whole audience is accepted (and the table's statistics
        # know its messages); meanwhile the step only samples the launch's progress.
        back = (_release_wave(campaign, now=now) if campaign.status == C.RUNNING
                else now + tick())
        if campaign.next_sample_at is None or campaign.next_sample_at <= now:
            counts = sample_take(campaign, now=now)
            if campaign.status == C.RUNNING and back is None and not _unfinished(counts):
                campaign.status, campaign.finished_at = C.COMPLETED, now
                campaign.save(update_fields=["status", "finished_at", "updated_at"])
                return
        at = min(back, campaign.next_sample_at) if back else campaign.next_sample_at
        _pace_enqueue(campaign, at=max(at, now + tick() / 2), step=step + 1)


# --- pause, resume, cancel ----------------------------------------------------------------------


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("account").get(pk=campaign.pk)


def pause_locked(campaign: Campaign, *, now: datetime, reason: str = "") -> None:
    """Pause `campaign`, locked by the caller: hold again what has not left, stop its
    background work (a new run), and sample."""
    check_campaign_transition(campaign.status, C.PAUSED)
    _hold_waiting(campaign, now=now)
    campaign.status, campaign.stop_reason = C.PAUSED, reason
    campaign.release_cursor, campaign.run = None, campaign.run + 1
    campaign.save(update_fields=["status", "stop_reason", "release_cursor", "run", "updated_at"])
    sample_take(campaign, now=now)


@transaction.atomic
def campaign_pause(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Stop the campaign: nothing more is accepted nor leaves until it is resumed."""
    actor.require(Perm.MESSAGING_SEND)
    campaign = _locked(campaign)
    pause_locked(campaign, now=timezone.now())
    audit_record(actor=actor, account=campaign.account, action="campaign.pause",
                 target=campaign)
    return campaign


@transaction.atomic
def campaign_resume(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Go on where it stopped: the launch if it was not over, then the waves."""
    actor.require(Perm.MESSAGING_SEND)
    service_require(account=campaign.account, kind=ServiceKind.MESSAGING)
    campaign = _locked(campaign)
    target = C.RUNNING if campaign.launch_done else C.LAUNCHING
    if campaign.status != C.PAUSED:
        raise Conflict(_("Only a paused campaign can be resumed."), code="campaign_state",
                       details={"status": campaign.status})
    campaign.status = target
    campaign.stop_reason, campaign.run = "", campaign.run + 1
    campaign.save(update_fields=["status", "stop_reason", "run", "updated_at"])
    runs_enqueue(campaign, at=timezone.now())
    audit_record(actor=actor, account=campaign.account, action="campaign.resume",
                 target=campaign)
    return campaign


@transaction.atomic
def campaign_cancel(*, actor: Actor, campaign: Campaign) -> Campaign:
    """Cancel what has not left: held and released messages are canceled in the
    background and their charges reversed; what a gateway has already taken leaves."""
    actor.require(Perm.MESSAGING_SEND)
    campaign = _locked(campaign)
    now = timezone.now()
    target = C.CANCELED if campaign.send_id is None else C.CANCELING
    check_campaign_transition(campaign.status, target)
    _hold_waiting(campaign, now=now)
    campaign.status, campaign.run = target, campaign.run + 1
    campaign.release_cursor = None
    if target == C.CANCELED:
        campaign.finished_at = now
    campaign.save(update_fields=["status", "run", "release_cursor", "finished_at",
                                 "updated_at"])
    if target == C.CANCELING:
        job_enqueue(name="campaigns.cancel",
                    payload={"campaign_id": str(campaign.pk), "run": campaign.run},
                    unique_key=f"campaigns.cancel:{campaign.pk}:{campaign.run}")
    audit_record(actor=actor, account=campaign.account, action="campaign.cancel",
                 target=campaign)
    return campaign


def _cancel_chunk(campaign_id: Any, run: int) -> bool:
    """Cancel the next chunk of the campaign's waiting messages and reverse their
    charges, in one transaction; False once the walk is over."""
    now = timezone.now()
    with transaction.atomic():
        campaign = _locked(Campaign(pk=campaign_id))
        if campaign.run != run or campaign.status != C.CANCELING:
            return False
        rows, last = (_campaign_messages(campaign, after=campaign.release_cursor,
                                         limit=CANCEL_CHUNK)
                      if campaign.first_message_id else ([], None))
        if last is None:
            campaign.status, campaign.finished_at = C.CANCELED, now
            campaign.save(update_fields=["status", "finished_at", "updated_at"])
            sample_take(campaign, now=now)
            return False
        waiting = [pk for pk, status, *_rest in rows if status == M.SCHEDULED]
        queued = [pk for pk, status, *_rest in rows if status == M.QUEUED]
        if queued:  # back from a gateway's retry since the cancel was asked
            waiting += _hold_queued(Message.objects.filter(pk__in=queued), now=now)
        canceled = messages_transition(waiting, M.CANCELED, at=now, detail="campaign canceled",
                                       allowed_from=(M.SCHEDULED,))
        messages_uncharge(canceled, reason="campaign canceled")
        campaign.release_cursor = last
        campaign.save(update_fields=["release_cursor", "updated_at"])
    return True


def campaign_cancel_run(*, campaign_id: Any, run: int) -> None:
    """The cancel job: chunk after chunk, each in one transaction."""
    statistics_refresh(Message)  # a launch stopped midway did not refresh them
    while _cancel_chunk(campaign_id, run):
        job_heartbeat()
    snapshot_drop(campaign_id)
