"""Throttling of failed authentications per source address (chappe.voice.sip.throttle)."""

from chappe.voice.sip.throttle import AuthThrottle


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_within_the_window_blocks_until_the_oldest_failure_leaves_it():
    clock = Clock()
    throttle = AuthThrottle(limit=3, window=10, clock=clock)
    for _ in range(3):
        assert throttle.retry_after("192.0.2.1") == 0
        throttle.failed("192.0.2.1")
        clock.now += 2
    # Failures at 100, 102, 104; now 106: the one at 100 leaves the window at 110.
    assert throttle.retry_after("192.0.2.1") == 5
    assert throttle.retry_after("192.0.2.2") == 0
    clock.now = 110
    assert throttle.retry_after("192.0.2.1") == 0
    throttle.failed("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") > 0


def test_a_success_clears_the_address():
    throttle = AuthThrottle(limit=2, window=10, clock=Clock())
    throttle.failed("192.0.2.1")
    throttle.succeeded("192.0.2.1")
    throttle.failed("192.0.2.1")
    assert throttle.retry_after("192.0.2.1") == 0


def test_memory_is_bounded_by_the_addresses_tracked():
    throttle = AuthThrottle(limit=1, window=10, max_sources=100, clock=Clock())
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}")
    assert len(throttle._failures) == 100
    assert throttle.retry_after("10.0.3.231") > 0  # the latest are kept
    assert throttle.retry_after("10.0.0.0") == 0
