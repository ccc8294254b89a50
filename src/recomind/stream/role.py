"""Composition root of ``recomind consume``: the consumer groups, and nothing of the API."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from recomind.config import Settings
from recomind.serving.stack import ServingStack
from recomind.stream.consumers import Context
from recomind.stream.runner import run_groups


def consume(settings: Settings, groups: Sequence[str]) -> None:
    """Run ``groups`` of the topic until SIGINT or SIGTERM, then close what they opened."""
    stack = ServingStack.open(settings)
    ctx = Context(settings, stack.engine, stack.cache, stack.service)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_groups(ctx, list(groups), stop)

    try:
        asyncio.run(main())
    finally:
        stack.close()
