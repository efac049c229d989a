"""Waiting on a condition inside an asyncio test: the test acts on what the code under
test did, never after a guessed delay."""

import asyncio
from collections.abc import Callable
from typing import Any


async def until(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.002)
