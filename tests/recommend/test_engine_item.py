"""The engine's fast item constructor builds what ``model_construct`` would."""

from __future__ import annotations

from datetime import datetime

from recomind.schemas import RecommendedVideo, Video
from recomind.schemas import recommended as _item


def test_fast_item_equals_model_construct() -> None:
    v = Video(
        video_id="v1",
        title="A title",
        url="https://cdn.example/v1.mp4",
        tags=["funny", "meme"],
        creator_id=None,
        duration_s=12.5,
        created_at=datetime(2026, 1, 1),
    )
    fast = _item(v, 0.12345678, "because you liked #funny")
    slow = RecommendedVideo.model_construct(
        video_id="v1",
        title="A title",
        url="https://cdn.example/v1.mp4",
        tags=["funny", "meme"],
        creator_id=None,
        duration_s=12.5,
        score=0.123457,
        reason="because you liked #funny",
    )
    assert fast == slow
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.model_fields_set == slow.model_fields_set
    assert RecommendedVideo.model_validate(fast.model_dump()) == slow
