"""``/metrics`` gauges of the online figures per source, read from the cache at each scrape
(the ``online-figures`` job may run in another process)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

Figures = Callable[[], dict[str, Any] | None]

_GAUGES = {
    "impressions": "Items shown (served-list log), per source",
    "like_rate": "Likes per impression, per source",
    "skip_rate": "Skips per impression, per source",
    "mean_watch_fraction": "Mean share of the video watched per timed view, per source",
}


class OnlineFiguresCollector(Collector):
    """Yields ``recomind_online_{figure}{source=…}`` from the app's cached figures."""

    def __init__(self) -> None:
        self.figures: Figures | None = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        loaded = self.figures() if self.figures is not None else None
        if not loaded:
            return
        for name, doc in _GAUGES.items():
            gauge = GaugeMetricFamily(f"recomind_online_{name}", doc, labels=["source"])
            for row in loaded.get("sources", []):
                value = row.get(name)
                if isinstance(value, int | float):
                    gauge.add_metric([str(row.get("source", ""))], float(value))
            yield gauge


#: One per process (a registry takes a collector once); the newest app feeds it.
COLLECTOR = OnlineFiguresCollector()
REGISTRY.register(COLLECTOR)
