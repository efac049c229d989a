"""Time-ordered UUIDs (RFC 9562 version 7).

High-volume rows (messages, calls) use them as primary keys: they are unguessable like
uuid4 but sort by creation time, which keeps B-tree inserts at the right edge of the index
on PostgreSQL. Python gains `uuid.uuid7` only in 3.14.
"""

import os
import time
import uuid

_VERSION_VARIANT = (0x7 << 76) | (0b10 << 62)


def _from_int(value: int) -> uuid.UUID:
    """`uuid.UUID(int=value)` without its argument checks, which cost more than making
    the id (Python 3.14 has the same shortcut, `UUID._from_int`)."""
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def _uuid7(millis: int, rand: int) -> uuid.UUID:
    value = (millis & ((1 << 48) - 1)) << 80
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= rand & ((1 << 62) - 1)  # 62 random bits
    return _from_int(value | _VERSION_VARIANT)


def uuid7() -> uuid.UUID:
    return _uuid7(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big"))


def uuid7_many(count: int) -> list[uuid.UUID]:
    """`count` ids at once: one read of the random source for all of them (a campaign
    chunk asks for tens of thousands)."""
    millis = time.time_ns() // 1_000_000
    pool = os.urandom(10 * count)
    return [_uuid7(millis, int.from_bytes(pool[i:i + 10], "big"))
            for i in range(0, 10 * count, 10)]
