"""Wait until every consumer group has applied everything on the topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from recomind.config import Settings
from recomind.stream.consumers import GROUPS
from recomind.stream.lag import group_lag

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from sync code, even inside a running loop (Playwright)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def settle(
    settings: Settings, *, timeout_s: float = 60.0, groups: tuple[str, ...] = GROUPS
) -> None:
    """Block until the lag of ``groups`` is zero; fail loudly after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    lag: dict[str, int] = {}
    while time.monotonic() < deadline:
        lag = run_sync(group_lag(settings, groups))
        if not any(lag.values()):
            return
        time.sleep(0.05)
    raise AssertionError(f"consumers did not catch up within {timeout_s}s: lag {lag}")


def messages_on_topic(settings: Settings) -> int:
    """How many messages the topic holds (lag of a group that never reads)."""
    return run_sync(group_lag(settings, ["__never_reads__"]))["__never_reads__"]
