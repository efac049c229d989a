"""Contact center → Statistics (C-6, C-7; decision 0042): the historical figures per
queue, agent or number and period, as tables, server-drawn SVG charts of one queue's
period, and CSV or XLSX downloads of the table. Administrators and Supervisors."""

import threading
from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from chappe.accounts.actor import Actor
from chappe.accounts.roles import Perm
from chappe.agents import statistics as st
from chappe.agents.models import Queue
from chappe.common.csv_export import csv_response
from chappe.common.errors import ChappeError
from chappe.contacts.export import xlsx_response
from chappe.web.auth import REFUSALS, account_view
from chappe.web.charts import bar_chart
from chappe.web.forms import account_zone

SUBJECTS = [("queues", gettext_lazy("Queues")), ("agents", gettext_lazy("Agents")),
            ("numbers", gettext_lazy("Numbers"))]
GROUPS = [("total", gettext_lazy("Whole period")), ("day", gettext_lazy("Per day")),
          ("hour", gettext_lazy("Per hour of the day")),
          ("weekday", gettext_lazy("Per day of the week"))]
WEEKDAYS = [gettext_lazy("Monday"), gettext_lazy("Tuesday"), gettext_lazy("Wednesday"),
            gettext_lazy("Thursday"), gettext_lazy("Friday"), gettext_lazy("Saturday"),
            gettext_lazy("Sunday")]


class StatisticsForm(forms.Form):
    subject = forms.ChoiceField(label=gettext_lazy("Show"), choices=SUBJECTS, required=False)
    start = forms.DateField(label=gettext_lazy("From"),
                            widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"),
                          widget=forms.DateInput(attrs={"type": "date"}))
    group = forms.ChoiceField(label=gettext_lazy("Period"), choices=GROUPS, required=False)
    threshold = forms.IntegerField(label=gettext_lazy("Service level threshold (s)"),
                                   min_value=1, max_value=3600, initial=st.DEFAULT_THRESHOLD)
    short_abandon = forms.IntegerField(label=gettext_lazy("Short abandon under (s)"),
                                       min_value=0, max_value=600,
                                       initial=st.DEFAULT_SHORT_ABANDON)
    queue = forms.ChoiceField(label=gettext_lazy("Charts of the queue"), required=False)

    def __init__(self, *args: Any, queues: list[Queue], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].choices = [(str(q.pk), q.name) for q in queues]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end is before the start."))
        elif start and end and (end - start).days >= st.MAX_DAYS:
            self.add_error("end", _("At most %(days)d days.") % {"days": st.MAX_DAYS})
        return data


def _bucket_label(group: str, bucket: Any) -> str:
    if group == "hour":
        return f"{bucket:02d}h"
    if group == "weekday":
        return str(WEEKDAYS[int(bucket) - 1])
    if isinstance(bucket, date):
        return bucket.isoformat()
    return ""


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def _charts(actor: Actor, queue_id: str, data: dict[str, Any]) -> list[Any]:
    period = st.period_of_days(data["start"], data["end"], account_zone(actor.account))
    board = st.queue_dashboard(account_id=actor.account.pk, queue_id=queue_id, period=period,
                               threshold=data["threshold"],
                               short_abandon=data["short_abandon"])
    charts = []
    for group, title in (("day", _("Calls per day")), ("hour", _("Calls per hour of the day")),
                         ("weekday", _("Calls per day of the week"))):
        cuts = [(b, st.figures(c)) for b, c in board[group]]
        charts.append(bar_chart(
            [_bucket_label(group, b) for b, _f in cuts],
            [(str(_("Offered")), [f.offered for _b, f in cuts]),
             (str(_("Answered")), [f.answered for _b, f in cuts]),
             (str(_("Abandoned")), [f.abandoned for _b, f in cuts])], title=title))
    return charts


@account_view(Perm.STATISTICS_VIEW)
def statistics_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    queues = list(Queue.objects.filter(account=actor.account).order_by("name"))
    today = timezone.localdate(timezone=account_zone(actor.account))
    initial = {"start": today.replace(day=1), "end": today, "subject": "queues",
               "group": "total", "threshold": st.DEFAULT_THRESHOLD,
               "short_abandon": st.DEFAULT_SHORT_ABANDON}
    form = StatisticsForm(request.GET if "start" in request.GET else None, queues=queues,
                          initial=initial)
    data = form.cleaned_data if form.is_bound and form.is_valid() else (
        None if form.is_bound else {**initial, "queue": ""})
    rows, charts, subject, group = [], [], "queues", "total"
    if data is not None:
        subject, group = data["subject"] or "queues", data["group"] or "total"
        rows = st.report(account=actor.account, subject=subject, first=data["start"],
                         last=data["end"], group=group, threshold=data["threshold"],
                         short_abandon=data["short_abandon"])
        export = request.GET.get("format")
        if export in ("csv", "xlsx"):
            header, body = st.table(subject, rows)
            name = f"statistics-{subject}-{data['start']}-{data['end']}.{export}"
            if export == "csv":
                return csv_response(name, header, body, stream=False)
            return xlsx_response(name, header, body)
        chart_queue = data.get("queue") or (str(queues[0].pk) if queues else "")
        if chart_queue and subject == "queues":
            charts = _charts(actor, chart_queue, data)
    table = [{"label": row.label, "bucket": _bucket_label(group, row.bucket),
              "figures": row.figures, "outbound": row.outbound,
              "service_level": _percent(row.figures.service_level) if row.figures else "",
              "service_level_with_abandons": _percent(row.figures.service_level_with_abandons)
              if row.figures else "",
              "abandon_rate": _percent(row.figures.abandon_rate) if row.figures else "",
              "occupancy": _percent(row.figures.occupancy) if row.figures else "",
              "asa": _seconds(row.figures.asa) if row.figures else "",
              "average_wait": _seconds(row.figures.average_wait) if row.figures else "",
              "aht": _seconds(row.figures.aht) if row.figures else ""} for row in rows]
    query = request.GET.copy()
    query.pop("format", None)
    return render(request, "web/statistics.html", {
        "form": form, "rows": table, "subject": subject, "charts": charts,
        "query": query.urlencode(), "period_days": (data["end"] - data["start"] +
                                                    timedelta(days=1)).days if data else 0})


# --- the live wallboard ---------------------------------------------------------------------

# How often an open wallboard asks the database whether anything moved (decision 0042):
# an event written by the engine reaches the page within this plus one snapshot's read.
POLL_SECONDS = 0.2
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long; the browser's EventSource opens the next one by itself
# (a WSGI thread or ASGI task is not held for ever by a forgotten tab).
STREAM_SECONDS = 600.0
# Open sync streams in this process, and a condition notified when one ends (a test
# waits on it for its own stream to end).
ACTIVE_STREAMS = [0]
STREAM_ENDED = threading.Condition()


@account_view(Perm.STATISTICS_VIEW)
def wallboard_page(request: HttpRequest, actor: Actor) -> HttpResponse:
    from chappe.agents import wallboard
    from chappe.agents.models import STATE_LABELS

    board = wallboard.snapshot(account=actor.account, now=timezone.now())
    return render(request, "web/wallboard.html", {
        "board": board, "state_labels": {s.value: str(label)
                                         for s, label in STATE_LABELS.items()},
        # Supervisors and Administrators act from the board (C-7): force a state, join a
        # call.
        "can_supervise": actor.can(Perm.AGENTS_SUPERVISE),
        "action_labels": {"pause": _("Pause"), "logged_out": _("Log out"),
                          "listen": _("Listen"), "whisper": _("Whisper"),
                          "barge": _("Barge in")}})


@account_view(Perm.AGENTS_SUPERVISE)
@require_POST
def wallboard_supervise(request: HttpRequest, actor: Actor, call_id: str) -> HttpResponse:
    """Listen to, whisper in or barge into an agent's call from the wallboard: the
    supervisor's own phones ring (decision 0047)."""
    from chappe.agents.services.calls import call_supervise

    try:
        call_supervise(actor=actor, account=actor.account, call_id=call_id[:128],
                       mode=request.POST.get("mode", ""))
    except REFUSALS:
        raise
    except ChappeError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Your phone rings: answer it to join the call."))
    return redirect("web:wallboard")


def _frame(event: str, data: Any) -> str:
    import json

    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def wallboard_frames(account: Any, *, clock: Any = None, sleep: Any = None, now: Any = None,
                     limit: float = STREAM_SECONDS) -> Any:
    """The server-sent events of one open wallboard (sync: the WSGI server's thread):
    a `snapshot` first, then one each time `version` moves, a comment as heartbeat."""
    import time

    from chappe.agents import wallboard

    clock, sleep, now = clock or time.monotonic, sleep or time.sleep, now or timezone.now
    started = beat = clock()
    last = None
    with STREAM_ENDED:
        ACTIVE_STREAMS[0] += 1
    try:
        yield "retry: 1000\n\n"
        while clock() - started < limit:
            seen = wallboard.version(account_id=account.pk)
            if seen != last:
                last = seen
                beat = clock()
                yield _frame("snapshot", wallboard.snapshot(account=account, now=now()))
            elif clock() - beat >= HEARTBEAT_SECONDS:
                beat = clock()
                yield ": still here\n\n"
            sleep(POLL_SECONDS)
    finally:
        with STREAM_ENDED:
            ACTIVE_STREAMS[0] -= 1
            STREAM_ENDED.notify_all()


async def wallboard_frames_async(account: Any, *, limit: float = STREAM_SECONDS) -> Any:
    """The same under ASGI (the web role's uvicorn): reads in a thread, waits with asyncio."""
    import asyncio
    import time

    from asgiref.sync import sync_to_async

    from chappe.agents import wallboard

    started = beat = time.monotonic()
    last = None
    yield "retry: 1000\n\n"
    while time.monotonic() - started < limit:
        seen = await sync_to_async(wallboard.version)(account_id=account.pk)
        if seen != last:
            last = seen
            beat = time.monotonic()
            board = await sync_to_async(wallboard.snapshot)(account=account,
                                                            now=timezone.now())
            yield _frame("snapshot", board)
        elif time.monotonic() - beat >= HEARTBEAT_SECONDS:
            beat = time.monotonic()
            yield ": still here\n\n"
        await asyncio.sleep(POLL_SECONDS)


@account_view(Perm.STATISTICS_VIEW)
def wallboard_stream(request: HttpRequest, actor: Actor) -> HttpResponse:
    from django.conf import settings
    from django.core.handlers.asgi import ASGIRequest
    from django.http import StreamingHttpResponse

    limit = getattr(settings, "CHAPPE_WALLBOARD_STREAM_SECONDS", STREAM_SECONDS)
    frames = (wallboard_frames_async(actor.account, limit=limit)
              if isinstance(request, ASGIRequest) else wallboard_frames(actor.account,
                                                                        limit=limit))
    response = StreamingHttpResponse(frames, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # a proxy must not hold the events back
    return response
