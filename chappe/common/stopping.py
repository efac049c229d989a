"""How every long-running role learns it must stop (Ctrl-C, or SIGTERM from `chappe up`
or a service manager): it finishes the step in hand, then leaves its loop."""

import signal
import threading


def stop_on_signals() -> threading.Event:
    """An event set by SIGINT or SIGTERM; the caller's loop runs while it is not set."""
    stop = threading.Event()

    def _on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    return stop
