from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from chappe.messaging.quiet_hours import SendingWindow, next_allowed

PARIS = ZoneInfo("Europe/Paris")
FR = SendingWindow()


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Thursday 2026-11-26.
        (paris(2026, 11, 26, 21, 29), paris(2026, 11, 26, 21, 29)),
        (paris(2026, 11, 26, 21, 29, 59), paris(2026, 11, 26, 21, 29, 59)),
        (paris(2026, 11, 26, 21, 30), paris(2026, 11, 27, 8, 0)),
        (paris(2026, 11, 26, 7, 59, 59), paris(2026, 11, 26, 8, 0)),
        (paris(2026, 11, 26, 8, 0), paris(2026, 11, 26, 8, 0)),
        (paris(2026, 11, 26, 0, 0), paris(2026, 11, 26, 8, 0)),
        # Saturday evening → Sunday closed → Monday 08:00.
        (paris(2026, 11, 28, 22, 0), paris(2026, 11, 30, 8, 0)),
        (paris(2026, 11, 29, 12, 0), paris(2026, 11, 30, 8, 0)),
        # Christmas (Friday) is a public holiday → Saturday 26th 08:00.
        (paris(2026, 12, 24, 21, 45), paris(2026, 12, 26, 8, 0)),
        # Armistice, Wednesday 2026-11-11.
        (paris(2026, 11, 11, 10, 0), paris(2026, 11, 12, 8, 0)),
        # DST starts Sunday 2026-03-29 (02:00 → 03:00): Saturday night waits for Monday.
        (paris(2026, 3, 28, 23, 0), paris(2026, 3, 30, 8, 0)),
        # DST ends Sunday 2026-10-25; Monday 08:00 is UTC+1 again.
        (paris(2026, 10, 24, 21, 30), paris(2026, 10, 26, 8, 0)),
        # 14 July 2026 is a Tuesday holiday.
        (paris(2026, 7, 13, 21, 30), paris(2026, 7, 15, 8, 0)),
    ],
)
def test_france_default_window(at, expected):
    assert next_allowed(at, FR, "Europe/Paris") == expected.astimezone(UTC)


def test_result_is_utc_and_exact_across_dst():
    result = next_allowed(paris(2026, 10, 24, 22, 0), FR, "Europe/Paris")
    assert result.tzinfo == UTC
    assert result == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)  # 08:00 CET = 07:00 UTC
    summer = next_allowed(paris(2026, 3, 28, 22, 0), FR, "Europe/Paris")
    assert summer == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST = 06:00 UTC


def test_sundays_and_holidays_can_be_opened():
    window = SendingWindow(weekdays=frozenset(range(7)), public_holidays_allowed=True)
    at = paris(2026, 12, 25, 10, 0)
    assert next_allowed(at, window, "Europe/Paris") == at.astimezone(UTC)


def test_the_account_time_zone_decides():
    # 21:00 in Paris is 15:00 in Martinique: a window in America/Martinique is open then.
    at = paris(2026, 11, 26, 21, 45)
    assert next_allowed(at, FR, "America/Martinique") == at.astimezone(UTC)


def test_a_window_that_never_opens_is_an_error():
    with pytest.raises(ValueError, match="never opens"):
        next_allowed(paris(2026, 1, 1, 0, 0), SendingWindow(weekdays=frozenset()), "Europe/Paris")


def test_custom_hours():
    window = SendingWindow(start=time(10, 0), end=time(20, 0))
    assert next_allowed(paris(2026, 11, 26, 20, 0), window, "Europe/Paris") == paris(
        2026, 11, 27, 10, 0).astimezone(UTC)
