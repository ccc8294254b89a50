"""Opens the event-bus backend a settings object names, by the URL's scheme.

``kafka://`` gives the aiokafka backend, anything else the embedded SQLite log. Kept apart
from :mod:`recomind.stream.bus` (the interface) so the backends import the interface and
nothing imports back.
"""

from __future__ import annotations

from recomind.config import Settings
from recomind.stream.bus import Consumer, Producer


def open_producer(settings: Settings) -> Producer:
    url = settings.event_bus_url
    if url.startswith("kafka://"):
        from recomind.stream.kafka import KafkaProducer

        return KafkaProducer(settings)
    from recomind.stream.local import LocalProducer

    return LocalProducer(settings)


def open_consumer(settings: Settings, group: str, topic: str) -> Consumer:
    url = settings.event_bus_url
    if url.startswith("kafka://"):
        from recomind.stream.kafka import KafkaConsumer

        return KafkaConsumer(settings, group, topic)
    from recomind.stream.local import LocalConsumer

    return LocalConsumer(settings, group, topic)
