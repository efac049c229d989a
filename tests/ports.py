"""Ports for the servers a test starts on 127.0.0.1."""

import random
import socket

# Below the kernel's ephemeral range (32768-60999 by default) and the RTP ports the tests
# give the engine (30000-38199): a client socket of any other process (a database
# connection, another test run's RTP) is never given a port from here between the moment
# it is picked and the moment the test's server binds it. Single ports and media blocks
# come from halves of their own, so a SIP port is never inside a phone's media block.
_SINGLE = (20000, 24999)
_BLOCKS = (25000, 29999)


def _free(port: int) -> bool:
    try:
        for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
            with socket.socket(socket.AF_INET, kind) as sock:
                sock.bind(("127.0.0.1", port))
    except OSError:
        return False
    return True


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIP and SMPP servers listen on
    both, or the test does not care which)."""
    for _ in range(500):
        port = random.randint(*_SINGLE)
        if _free(port):
            return port
    raise RuntimeError(f"no free port between {_SINGLE[0]} and {_SINGLE[1]}")


def free_port_block(size: int = 4) -> int:
    """The first of `size` consecutive free ports: SIPp's media port `-mp` takes audio
    RTP/RTCP there and video RTP/RTCP on the two after."""
    for _ in range(500):
        first = random.randrange(_BLOCKS[0], _BLOCKS[1] - size, size)
        if all(_free(port) for port in range(first, first + size)):
            return first
    raise RuntimeError(f"no {size} free ports between {_BLOCKS[0]} and {_BLOCKS[1]}")


def bound(port: int, *, udp: bool = True) -> bool:
    """Whether something already holds UDP (or TCP) `port` of 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False
