"""Ports for the servers a test starts on 127.0.0.1."""

import random
import socket

# Below the kernel's ephemeral range (32768-60999 by default) and the RTP ports the tests
# give the engine (30000-38199): a client socket of any
# other process (a database connection, another test run's RTP) is never given a port
# from here between the moment it is picked and the moment the test's server binds it.
_RANGE = (20000, 29999)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIP and SMPP servers listen on
    both, or the test does not care which)."""
    for _ in range(500):
        port = random.randint(*_RANGE)
        try:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                with socket.socket(socket.AF_INET, kind) as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no free port between {_RANGE[0]} and {_RANGE[1]}")
