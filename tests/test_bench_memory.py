"""How the Redis memory benchmark groups keys (no sizes of RecoMind's own asserted)."""

from __future__ import annotations

from bench.bench_memory import group, is_user_key, kind_of

P = "benchmemab12cd34:"


def test_kind_is_the_leading_name_after_the_prefix() -> None:
    assert kind_of(P + "recommendations:memu3", P) == "recommendations"
    assert kind_of(P + "recommendations_fresh:memu3", P) == "recommendations_fresh"
    assert kind_of(P + "event_rate:LIMITER/memu3/600/1/minute", P) == "event_rate"
    assert kind_of(P + "popular_videos:20", P) == "popular_videos"


def test_user_keys_name_a_user_as_a_whole_token() -> None:
    assert is_user_key(P + "recent_actions:memu12")
    assert is_user_key(P + "event_rate:LIMITER/memu12/20/1/second")
    assert not is_user_key(P + "popular_videos")
    assert not is_user_key(P + "recent_actions:xmemu12")


def test_group_splits_per_user_and_shared_bytes() -> None:
    sizes = {
        P + "recommendations:memu0": 1000,
        P + "recommendations:memu1": 3000,
        P + "recent_actions:memu0": 200,
        P + "popular_videos": 5000,
    }
    g = group(sizes, P, users=2)
    assert g["per_user_kinds"]["recommendations"] == {
        "keys": 2,
        "bytes": 4000,
        "bytes_per_user": 2000.0,
        "bytes_per_key": 2000.0,
    }
    assert g["per_user_kinds"]["recent_actions"]["bytes_per_user"] == 100.0
    assert g["per_user_bytes"] == 2100.0
    assert g["shared_kinds"] == {"popular_videos": {"keys": 1, "bytes": 5000}}
