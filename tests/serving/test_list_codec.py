"""Compact cached lists: what goes in comes out, and a page renders as the routes' JSON."""

from __future__ import annotations

import math
from array import array

import orjson
from hypothesis import given
from hypothesis import strategies as st

from recomind.schemas import ID_RE, RecommendedVideo
from recomind.serving import list_codec
from recomind.serving.video_cards import card

ids = st.from_regex(ID_RE, fullmatch=True)
items = st.lists(
    st.tuples(ids, st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40)),
    max_size=120,
)


@given(items)
def test_a_list_decodes_to_what_was_encoded(listed: list[tuple[str, float, str]]) -> None:
    decoded = list_codec.decode(list_codec.encode(listed))
    assert decoded is not None
    assert decoded.ids == [v for v, _, _ in listed]
    assert [decoded.reasons[c] for c in decoded.codes] == [r for _, _, r in listed]
    for got, (_, want, _) in zip(decoded.scores, listed, strict=True):
        assert math.isfinite(got)  # NaN and overflow never reach a page
        if math.isnan(want):
            assert got == 0.0
        elif abs(want) < 3e38:
            assert got == array("f", [want])[0]  # float32 precision


@given(
    st.floats(allow_nan=False),
    st.one_of(st.none(), st.binary(max_size=20)),
    st.text(max_size=60),
)
def test_freshness_generation_and_source_travel_with_the_list(
    fresh_until: float, generation: bytes | None, source: str
) -> None:
    raw = list_codec.encode(
        [("v1", 1.0, "r")], fresh_until=fresh_until, generation=generation, source=source
    )
    decoded = list_codec.decode(raw)
    assert decoded is not None
    assert decoded.fresh_until == fresh_until and decoded.generation == generation
    assert decoded.source == source
    if math.isfinite(fresh_until):
        assert decoded.fresh(fresh_until - 1.0, generation) == (fresh_until - 1.0 < fresh_until)
        assert not decoded.fresh(fresh_until, generation)  # its TTL ran out
        assert not decoded.fresh(fresh_until - 1.0, (generation or b"") + b"1")  # invalidated


@given(st.lists(st.text(max_size=5), min_size=256, max_size=300, unique=True))
def test_more_than_255_distinct_reasons(reasons: list[str]) -> None:
    listed = [(f"v{i}", float(i), r) for i, r in enumerate(reasons)]
    decoded = list_codec.decode(list_codec.encode(listed))
    assert decoded is not None
    assert [decoded.reasons[c] for c in decoded.codes] == reasons


@given(st.binary(max_size=300))
def test_foreign_bytes_are_not_a_list(raw: bytes) -> None:
    decoded = list_codec.decode(raw)  # never raises
    if not raw.startswith(list_codec.MAGIC):
        assert decoded is None


def test_truncated_lists_are_not_lists() -> None:
    raw = list_codec.encode([("v1", 1.0, "a"), ("v2", 0.5, "b")])
    for end in range(len(raw)):
        assert list_codec.decode(raw[:end]) is None
    old = orjson.dumps([{"video_id": "v1", "score": 1.0, "reason": "x"}])  # before 0.4
    assert list_codec.decode(old) is None


def _video(i: int, title: str) -> RecommendedVideo:
    return RecommendedVideo(
        video_id=f"v{i}",
        title=title,
        url=f"https://cdn.example/v{i}.mp4",
        tags=["a", 'é"b'],
        creator_id=None if i % 2 else "c1",
        duration_s=None if i % 3 else 12.5,
        score=1.0 / (i + 1),
        reason=f'because you liked "{title}"',
    )


def test_a_page_renders_as_the_items_json() -> None:
    videos = [_video(i, t) for i, t in enumerate(["Ünïcode 🎬", 'quote " \\ slash', "x\ny"])]
    listed = list_codec.decode(list_codec.encode([(v.video_id, v.score, v.reason) for v in videos]))
    assert listed is not None
    cards = {v.video_id: card(v) for v in videos}
    page = orjson.loads(list_codec.render(listed, [0, 2], cards))
    want = [videos[0].model_dump(mode="json"), videos[2].model_dump(mode="json")]
    for got, expected in zip(page, want, strict=True):
        assert got.pop("score") == float(f"{expected.pop('score'):.6g}")
        assert got == expected
    del cards["v2"]  # a video deleted since the list was computed: left out
    assert [i["video_id"] for i in orjson.loads(list_codec.render(listed, [0, 2], cards))] == ["v0"]


def test_a_page_skips_excluded_videos_or_asks_for_a_new_list() -> None:
    listed = list_codec.decode(list_codec.encode([(f"v{i}", 1.0, "r") for i in range(5)]))
    assert listed is not None
    assert listed.page(3, set()) == [0, 1, 2]
    assert listed.page(3, {"v1"}) == [0, 2, 3]
    assert listed.page(10, {"v1"}) is None  # fewer than asked and fewer than the list held
    assert listed.page(3, {"v0", "v1", "v2"}) is None  # 2 left of the 3 asked: too few
    assert listed.page(2, {"v0", "v1", "v2"}) == [3, 4]


def test_a_list_keeps_its_experiment_tag_and_an_untagged_one_reads_as_none() -> None:
    items = [("v1", 1.5, "trending now"), ("v2", 0.5, "new upload")]
    tagged = list_codec.decode(list_codec.encode(items, source="trending", tag="exp:trend"))
    assert tagged is not None and tagged.tag == "exp:trend" and tagged.ids == ["v1", "v2"]
    plain = list_codec.decode(list_codec.encode(items, source="trending"))
    assert plain is not None and plain.tag == "" and plain.source == "trending"
