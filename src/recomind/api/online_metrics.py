"""``/metrics`` gauges of the online figures per source, read from the cache at each scrape
(the ``online-figures`` job may run in another process).

Each app serves its own figures (its own cache and key prefix): ``/metrics`` answers from
:class:`AppRegistry`, the process's global registry plus this app's collector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
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

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    def collect(self) -> Iterator[GaugeMetricFamily]:
        loaded = self.figures()
        if not loaded:
            return
        for name, doc in _GAUGES.items():
            gauge = GaugeMetricFamily(f"recomind_online_{name}", doc, labels=["source"])
            for row in loaded.get("sources", []):
                value = row.get(name)
                if isinstance(value, int | float):
                    gauge.add_metric([str(row.get("source", ""))], float(value))
            yield gauge


class AppRegistry(CollectorRegistry):
    """The global registry's metrics, then this app's online figures."""

    def __init__(self, figures: Figures) -> None:
        super().__init__(auto_describe=False)
        self._online = OnlineFiguresCollector(figures)

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()
        yield from self._online.collect()
