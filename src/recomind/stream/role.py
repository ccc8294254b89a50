"""Composition root of ``recomind consume``: the consumer groups, and nothing of the API."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence

from prometheus_client import start_http_server

from recomind.config import Settings
from recomind.serving.stack import ServingStack
from recomind.stream.consumers import Context
from recomind.stream.runner import run_groups


def consume(settings: Settings, groups: Sequence[str]) -> None:
    """Run ``groups`` of the topic until SIGINT or SIGTERM, then close what they opened.

    With ``consumer_metrics_port`` set, Prometheus metrics (lag, progress, stuck groups,
    offset regressions) are served on that port while they run."""
    if settings.consumer_metrics_port:
        start_http_server(settings.consumer_metrics_port, addr=settings.consumer_metrics_host)
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
