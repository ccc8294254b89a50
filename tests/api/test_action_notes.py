"""The note batcher: concurrent requests share one cache write, and each waits for its own."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from recomind.api.action_notes import Note, NoteBatcher
from tests.api.helpers import load_catalogue
from tests.utils.settle import run_sync
from tests.utils.stacks import Api


class Writer:
    """Records each batch; slow, like a Redis round trip on a busy machine."""

    def __init__(self, fail_first: bool = False) -> None:
        self.batches: list[list[Note]] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def __call__(self, batch: list[Note]) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        time.sleep(0.02)
        with self.lock:
            self.active -= 1
            if self.fail_first and not self.batches:
                self.batches.append([])
                raise ConnectionError("cache write failed")
            self.batches.append(list(batch))

    def written(self) -> list[Note]:
        return [n for b in self.batches for n in b]


def test_concurrent_notes_share_writes_and_each_waits_for_its_own() -> None:
    writer = Writer()
    batcher = NoteBatcher(writer)

    async def one(i: int) -> None:
        await asyncio.sleep(0.001 * (i % 7))  # arrivals spread over a few milliseconds
        await batcher.note(f"u{i}", f"v{i}", "view")
        assert (f"u{i}", f"v{i}", "view") in writer.written()  # written before returning

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(60)))

    run_sync(main())
    assert sorted(writer.written()) == sorted((f"u{i}", f"v{i}", "view") for i in range(60))
    assert len(writer.batches) == batcher.batches
    assert batcher.batches < 20  # 60 notes, far fewer writes


def test_writes_never_overlap_and_late_notes_form_the_next_batch() -> None:
    writer = Writer()
    batcher = NoteBatcher(writer)

    async def main() -> None:
        first = asyncio.ensure_future(batcher.note("a", "v", "view"))
        await asyncio.sleep(0.005)  # the first write is in flight now
        late = [batcher.note(f"l{i}", "v", "view") for i in range(10)]
        await asyncio.gather(first, *late)

    run_sync(main())
    assert writer.batches == [[("a", "v", "view")], [(f"l{i}", "v", "view") for i in range(10)]]
    assert writer.max_active == 1


def test_a_failed_write_fails_its_batch_only() -> None:
    writer = Writer(fail_first=True)
    batcher = NoteBatcher(writer)

    async def main() -> list[BaseException | None]:
        first = await asyncio.gather(
            *(batcher.note(f"u{i}", "v", "like") for i in range(5)), return_exceptions=True
        )
        await batcher.note("later", "v", "view")  # the next batch is written
        return first

    results = run_sync(main())
    assert all(isinstance(r, ConnectionError) for r in results)
    assert writer.written() == [("later", "v", "view")]


def test_a_burst_of_actions_is_noted_for_every_user_at_once(api: Api) -> None:
    """32 users post at the same moment; as soon as each POST is answered, that user's
    video is never in their feed, on every stack (batched notes on Redis)."""
    load_catalogue(api.http, 25)
    users = [f"burst{i}" for i in range(32)]

    def post(i: int) -> str:
        video = f"v{i % 25}"
        r = api.http.post(
            "/video_action",
            json={"user_id": users[i], "video_id": video, "action_type": "view"},
        )
        assert r.status_code == 202, r.text
        feed = api.http.get(f"/recommendations/{users[i]}", params={"n": 25}).json()
        assert video not in {item["video_id"] for item in feed}
        return video

    with ThreadPoolExecutor(max_workers=16) as pool:
        watched = list(pool.map(post, range(len(users))))
    service = api.state.recommendations
    for user, video in zip(users, watched, strict=True):
        assert service.recent_actions(user) == [("view", video)]
