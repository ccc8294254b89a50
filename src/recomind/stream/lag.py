"""How far each consumer group is behind the end of the topic (for metrics, tests, status)."""

from __future__ import annotations

from collections.abc import Sequence

from recomind.config import Settings


async def group_lag(settings: Settings, groups: Sequence[str]) -> dict[str, int]:
    """``group -> messages not yet committed`` over every partition of the topic."""
    topic = settings.kafka_topic
    if settings.event_bus_url.startswith("kafka://"):
        return await _kafka_lag(settings, topic, groups)
    from recomind.stream.local import LocalLog, bus_path

    log = LocalLog.open(bus_path(settings.event_bus_url), settings.kafka_partitions)
    ends = log.end_offsets(topic)
    out = {}
    for group in groups:
        committed = log.committed(group, topic)
        out[group] = sum(max(0, end - committed.get(p, 0)) for p, end in ends.items())
    return out


async def _kafka_lag(settings: Settings, topic: str, groups: Sequence[str]) -> dict[str, int]:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    from recomind.stream.kafka import bootstrap_servers

    servers = bootstrap_servers(settings.event_bus_url)
    probe = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await probe.start()
    await admin.start()
    try:
        await probe.topics()  # fetches fresh metadata
        parts = probe.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        ends = await probe.end_offsets(tps) if tps else {}
        out = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(
                settings.kafka_group_prefix + group, partitions=tps
            )
            out[group] = sum(
                max(
                    0,
                    ends[tp]
                    - (
                        committed[tp].offset if tp in committed and committed[tp].offset >= 0 else 0
                    ),
                )
                for tp in tps
            )
        return out
    finally:
        await probe.stop()
        await admin.close()
