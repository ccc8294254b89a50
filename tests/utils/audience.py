"""A synthetic audience with hidden topic tastes, for the live-loop tests and ``bench_live``.

Every video has one topic tag (``topic0`` ...; topics are Zipf-popular, so a few dominate
trending) and often a format tag shared across topics (``tutorial``, ``vlog``, ...); each
creator posts in one topic. Each user secretly likes one to three topics: shown a video,
they like it often if its topic is theirs and skip it often if not (:meth:`Audience.react`).
Their past actions (:meth:`Audience.history`) come from the same rule, over videos drawn
mostly from their topics and partly from what is popular.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

FORMATS = ["tutorial", "vlog", "challenge", "reaction", "highlights"]


@dataclass
class Audience:
    """Videos as ``POST /videos/batch`` bodies, and users' hidden tastes.

    Parameters
    ----------
    n_topics, per_topic
        Topics and videos per topic.
    n_users
        Users with a history (``u0`` ...).
    seed
        Random seed (everything is reproducible).
    """

    n_topics: int = 24
    per_topic: int = 25
    n_users: int = 300
    seed: int = 0
    topics: list[str] = field(init=False)
    videos: list[dict[str, Any]] = field(init=False)
    topic_of: dict[str, str] = field(init=False)
    tastes: dict[str, list[str]] = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.topics = [f"topic{t}" for t in range(self.n_topics)]
        self.topic_weight = {t: 1.0 / (k + 1) ** 0.9 for k, t in enumerate(self.topics)}
        self.videos = []
        self.topic_of = {}
        self.appeal: dict[str, float] = {}
        for k, topic in enumerate(self.topics):
            for i in range(self.per_topic):
                vid = f"{topic}-v{i}"
                tags = [topic]
                if self.rng.random() < 0.6:
                    tags.append(self.rng.choice(FORMATS))
                self.videos.append(
                    {
                        "video_id": vid,
                        "title": f"{topic.title()} clip {i}",
                        "url": f"https://cdn.example/{vid}.mp4",
                        "tags": tags,
                        "creator_id": f"cr{k}-{i % 8}",
                        "duration_s": 30,
                    }
                )
                self.topic_of[vid] = topic
                self.appeal[vid] = 1.0 / (i + 1) ** 0.8
        self.by_topic = {t: [v for v in self.videos if v["tags"][0] == t] for t in self.topics}
        self.tastes = {f"u{u}": self.new_taste() for u in range(self.n_users)}

    def new_taste(self) -> list[str]:
        """One to three topics, drawn by popularity (popular topics have more fans)."""
        k = self.rng.choice([1, 1, 2, 3])
        chosen: list[str] = []
        while len(chosen) < k:
            t = self.rng.choices(self.topics, weights=list(self.topic_weight.values()))[0]
            if t not in chosen:
                chosen.append(t)
        return chosen

    def video(self, video_id: str) -> dict[str, Any]:
        return next(v for v in self.videos if v["video_id"] == video_id)

    def pick(self, topic: str | None = None) -> str:
        """A video by appeal: of ``topic``, or of a topic drawn by popularity."""
        if topic is None:
            weights = list(self.topic_weight.values())
            topic = self.rng.choices(self.topics, weights=weights)[0]
        pool = self.by_topic[topic]
        return str(
            self.rng.choices(pool, weights=[self.appeal[v["video_id"]] for v in pool])[0][
                "video_id"
            ]
        )

    def react(self, taste: list[str], video_id: str) -> tuple[str, int]:
        """What a user of ``taste`` does when shown ``video_id``: ``(action, watch ms)``."""
        mine = self.topic_of[video_id] in taste
        r = self.rng.random()
        if r < (0.45 if mine else 0.03):
            return "like", 30_000
        if r < (0.55 if mine else 0.6):
            return "skip", self.rng.randint(300, 2_000)
        return "view", self.rng.randint(5_000, 30_000) if mine else self.rng.randint(1_000, 8_000)

    def history(self, user: str, n_actions: int) -> list[tuple[str, str, int]]:
        """``(video_id, action, watch ms)`` of a user's past, oldest first: 70 % of the
        videos from their topics, the rest from what is popular; each video once."""
        taste = self.tastes[user]
        out: list[tuple[str, str, int]] = []
        seen: set[str] = set()
        for _ in range(4 * n_actions):
            if len(out) >= n_actions:
                break
            topic = self.rng.choice(taste) if self.rng.random() < 0.7 else None
            vid = self.pick(topic)
            if vid in seen:
                continue
            seen.add(vid)
            action, ms = self.react(taste, vid)
            out.append((vid, action, ms))
        return out
