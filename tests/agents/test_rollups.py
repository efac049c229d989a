"""Hourly rollups of the queue log (decision 0047): the dashboard read from them (whole
hours) and the log (the edges) gives exactly the figures of the log alone, for any
thresholds; a run rolls only settled hours, goes on where the last one stopped, and a
run repeated changes nothing."""

from datetime import UTC, date, datetime, timedelta

import pytest

from chappe.agents import rollups
from chappe.agents import statistics as st
from chappe.agents.models import Queue, QueueHour, RollupMark
from tests.agents.test_statistics import EXPECTED, PARIS, T0, S, T, _write, sequence

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def written(account, make_agent):
    """The hand-built sequence at 08:00 UTC on the 2nd, at 13:59:50 on the 3rd (across an
    hour's edge), and at 11:50 on the 10th (not settled yet at NOW); another queue's too."""
    queue = Queue.objects.create(account=account, name="Support")
    other = Queue.objects.create(account=account, name="Sales")
    agent = make_agent()
    for base in (T0, T0 + timedelta(days=1, hours=5, minutes=59, seconds=50),
                 datetime(2026, 3, 10, 11, 50, tzinfo=UTC)):
        _write(account, queue, agent, sequence(str(agent.pk)), base=base)
    _write(account, other, None, sequence(), base=T0)
    return queue


def _board(account, queue, period, *, use, threshold=T, short_abandon=S):
    return st.queue_dashboard(account_id=account.pk, queue_id=queue.pk, period=period,
                              threshold=threshold, short_abandon=short_abandon, rollups=use)


@pytest.mark.django_db
@pytest.mark.parametrize(("threshold", "short_abandon"), [(T, S), (19, 6), (40, 0)])
def test_rollups_give_the_figures_of_the_log(account, written, threshold, short_abandon):
    assert rollups.rollups_run(now=NOW, batch=10_000) > 0
    assert QueueHour.objects.exists()
    for first, last in ((date(2026, 3, 1), date(2026, 3, 31)),
                        (date(2026, 3, 3), date(2026, 3, 3))):
        period = st.period_of_days(first, last, PARIS)
        from_rollups = _board(account, written, period, use=True, threshold=threshold,
                              short_abandon=short_abandon)
        from_log = _board(account, written, period, use=False, threshold=threshold,
                          short_abandon=short_abandon)
        assert from_rollups == from_log
    month = st.period_of_days(date(2026, 3, 1), date(2026, 3, 31), PARIS)
    assert _board(account, written, month, use=True)["total"][0][1].offered == 18


@pytest.mark.django_db
def test_the_hand_built_kpis_from_the_rollups(account, written):
    rollups.rollups_run(now=NOW, batch=10_000)
    day = st.period_of_days(date(2026, 3, 2), date(2026, 3, 2), PARIS)
    [(_none, counts)] = _board(account, written, day, use=True)["total"]
    assert vars(st.figures(counts)) == EXPECTED


@pytest.mark.django_db
def test_runs_roll_settled_hours_in_batches_and_repeat_harmlessly(account, written):
    first = rollups.rollups_run(now=NOW, batch=24)
    assert first == 24
    assert rollups.rolled_until() == datetime(2026, 3, 3, 8, tzinfo=UTC)
    before = sorted((r.queue_id, r.hour) for r in QueueHour.objects.all())
    while rollups.rollups_run(now=NOW, batch=24):
        pass
    # Settled: up to the hour ten minutes ago began (11:00, so 11:50's calls are not yet).
    assert rollups.rolled_until() == datetime(2026, 3, 10, 11, tzinfo=UTC)
    assert rollups.rollups_run(now=NOW) == 0
    rows = QueueHour.objects.count()
    RollupMark.objects.filter(name=rollups.MARK).update(until=datetime(2026, 3, 2, 0,
                                                                       tzinfo=UTC))
    while rollups.rollups_run(now=NOW, batch=24):
        pass  # rolled again from an older mark: the same rows, none twice
    assert QueueHour.objects.count() == rows
    assert set(before) <= {(r.queue_id, r.hour) for r in QueueHour.objects.all()}
    assert rollups.rollups_rebuild(start=T0, end=T0 + timedelta(hours=1)) == 2


@pytest.mark.django_db
def test_a_days_totals_from_rollups_and_log_are_the_logs(account, written):
    day = st.period_of_days(date(2026, 3, 3), date(2026, 3, 3), PARIS)
    from_log = st.queue_totals(account_id=account.pk, period=day)
    rollups.rollups_run(now=NOW, batch=10_000)
    assert st.queue_totals(account_id=account.pk, period=day) == from_log
    assert from_log[written.pk].offered == 6
