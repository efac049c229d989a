"""Time-ordered UUIDs (RFC 9562 version 7).

High-volume rows (messages, calls) use them as primary keys: they are unguessable like
uuid4 but sort by creation time, which keeps B-tree inserts at the right edge of the index
on PostgreSQL. Python gains `uuid.uuid7` only in 3.14.
"""

import os
import time
import uuid


def uuid7() -> uuid.UUID:
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (millis & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version
    value |= ((rand >> 62) & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # variant
    value |= rand & ((1 << 62) - 1)  # 62 random bits
    return uuid.UUID(int=value)
