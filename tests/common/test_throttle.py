"""The one throttle of failed authentications (chappe.common.throttle): back-off per key,
doubling up to a cap, cleared by a success, forgotten when idle, bounded memory."""

from chappe.common.throttle import FailureThrottle


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_delay_starts_after_the_free_failures_and_doubles_up_to_the_cap():
    clock = Clock()
    throttle = FailureThrottle(free=2, base=1.0, cap=4.0, clock=clock)
    key = ("ip:192.0.2.1", "id:acme")
    throttle.failed(*key)
    assert throttle.retry_after(*key) == 0
    throttle.failed(*key)
    assert throttle.retry_after(*key) == 1
    assert throttle.retry_after("ip:198.51.100.1", "id:acme") == 1  # the system_id's own
    assert throttle.retry_after("ip:192.0.2.1", "id:other") == 1  # the address's own
    assert throttle.retry_after("ip:198.51.100.1") == 0
    clock.now += 1.01
    assert throttle.retry_after(*key) == 0
    for delay in (2.0, 4.0, 4.0):  # doubles, up to the cap
        throttle.failed(*key)
        clock.now += delay - 0.01
        assert throttle.retry_after(*key) == 1
        clock.now += 0.02
        assert throttle.retry_after(*key) == 0
    assert throttle.failures("id:acme") == 5


def test_a_success_clears_its_keys():
    throttle = FailureThrottle(free=2, clock=Clock())
    throttle.failed("192.0.2.1")
    throttle.succeeded("192.0.2.1")
    throttle.failed("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") == 0
    assert throttle.failures("192.0.2.1") == 1


def test_an_idle_key_starts_afresh():
    clock = Clock()
    throttle = FailureThrottle(free=2, base=1.0, forget=600, clock=clock)
    throttle.failed("192.0.2.1")
    clock.now += 600
    assert throttle.failures("192.0.2.1") == 0
    throttle.failed("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") == 0  # one failure in a row, not two


def test_memory_is_bounded_by_the_keys_tracked():
    throttle = FailureThrottle(free=1, base=10, max_keys=100, clock=Clock())
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._keys) == 100
    assert throttle.retry_after("10.0.3.231") > 0  # the latest are kept
    assert throttle.retry_after("10.0.0.0") == 0


def test_a_flood_of_made_up_system_ids_keeps_the_address_blocked():
    throttle = FailureThrottle(free=3, max_keys=50, clock=Clock())
    for n in range(200):
        throttle.failed("ip:192.0.2.1", f"id:guess{n}")
    assert len(throttle._keys) == 50
    assert throttle.retry_after("ip:192.0.2.1", "id:anyone") > 0  # the address is kept
