"""A sample catalogue for trying RecoMind with no data of your own.

Deterministic (seeded): the same videos, users and history on every machine.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from recomind.config import Settings
from recomind.folds.pipeline import apply_events
from recomind.schemas import ActionEvent, VideoCreate, utcnow
from recomind.storage.api_keys import get_key, issue_key
from recomind.storage.engine import read_tx, write_tx
from recomind.storage.inserts import new_id
from recomind.storage.users import create_user
from recomind.storage.videos import count_videos, create_videos

TAGS = [
    "funny", "meme", "dance", "music", "cooking", "travel", "pets", "fitness",
    "gaming", "diy", "fashion", "beauty", "sports", "science", "art", "comedy",
    "nature", "cars", "tech", "education", "asmr", "food", "animals", "skate",
]  # fmt: skip

_ADJ = ["Epic", "Tiny", "Wild", "Perfect", "Chaotic", "Calm", "Secret", "Daily", "Insane", "Cozy"]
_NOUN = {
    "funny": "Fails", "meme": "Meme Drop", "dance": "Dance Challenge", "music": "Beat",
    "cooking": "Recipe", "travel": "Trip", "pets": "Pet Moments", "fitness": "Workout",
    "gaming": "Speedrun", "diy": "Build", "fashion": "Outfit", "beauty": "Makeup Look",
    "sports": "Trick Shot", "science": "Experiment", "art": "Drawing", "comedy": "Sketch",
    "nature": "Sunrise", "cars": "Drift", "tech": "Gadget", "education": "Explainer",
    "asmr": "Sounds", "food": "Street Food", "animals": "Wildlife", "skate": "Kickflip",
}  # fmt: skip
_NAMES = ["Alice", "Bob", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jade"]

N_VIDEOS = 600
N_CREATORS = 60
N_USERS = 40


def catalogue(seed: int = 7) -> list[VideoCreate]:
    """600 videos over 24 tags, each with one main tag and up to two more."""
    rng = random.Random(seed)
    now = utcnow()
    out = []
    for i in range(N_VIDEOS):
        main = TAGS[i % len(TAGS)]
        extra = rng.sample([t for t in TAGS if t != main], k=rng.randint(0, 2))
        out.append(
            VideoCreate(
                video_id=f"v{i + 1}",
                title=f"{rng.choice(_ADJ)} {_NOUN[main]} #{main}",
                url=f"/media/demo/v{i + 1}.mp4",
                tags=[main, *extra],
                creator_id=f"c{rng.randrange(N_CREATORS) + 1}",
                duration_s=float(rng.randint(8, 60)),
                created_at=now - timedelta(hours=rng.uniform(0, 24 * 14)),
            )
        )
    return out


def history(videos: list[VideoCreate], seed: int = 11) -> list[ActionEvent]:
    """Users with two or three favourite tags: they like those, watch some, skip the rest."""
    rng = random.Random(seed)
    now = utcnow()
    by_tag: dict[str, list[VideoCreate]] = {t: [] for t in TAGS}
    for v in videos:
        by_tag[v.tags[0]].append(v)
    events = []
    for u in range(2, N_USERS + 1):  # u1 starts empty: the design's first-time user
        favourites = rng.sample(TAGS, k=rng.randint(2, 3))
        for _ in range(rng.randint(8, 30)):
            fav = rng.random() < 0.75
            tag = rng.choice(favourites) if fav else rng.choice(TAGS)
            v = rng.choice(by_tag[tag])
            duration_ms = int((v.duration_s or 30) * 1000)
            if fav and rng.random() < 0.6:
                kind, watched = "like", duration_ms
            elif fav:
                kind, watched = "view", int(duration_ms * rng.uniform(0.6, 1.0))
            else:
                kind, watched = rng.choice(["skip", "skip", "view"]), int(duration_ms * 0.1)
            events.append(
                ActionEvent(
                    event_id=new_id(),
                    user_id=f"u{u}",
                    video_id=v.video_id or "",
                    action_type=kind,  # type: ignore[arg-type]
                    timestamp=now - timedelta(minutes=rng.uniform(1, 48 * 60)),
                    watch_time_ms=watched,
                )
            )
    return events


def seed(engine: Engine, settings: Settings) -> bool:
    """Load the sample data unless the catalogue already has videos. True when loaded."""
    with read_tx(engine) as conn:
        if count_videos(conn) > 0:
            return False
    videos = catalogue()
    with write_tx(engine) as conn:
        create_videos(conn, items=videos)
        for u in range(1, N_USERS + 1):
            create_user(conn, user_id=f"u{u}", name=f"{_NAMES[(u - 1) % len(_NAMES)]} {u}")
    events = history(videos)
    for i in range(0, len(events), 200):
        apply_events(engine, settings=settings, events=events[i : i + 200])
    return True


#: The demo's keys: one per scope, made on the first run.
DEMO_KEYS = ("admin", "ingest", "read")
KEYS_FILE = "demo-keys.json"


def provision_access(engine: Engine, data_dir: Path) -> dict[str, str]:
    """The demo's credentials: an ``admin``, an ``ingest`` and a ``read`` key and the user
    token secret, made on the first run and kept in ``data_dir/demo-keys.json`` (mode 600), so
    a rerun shows the same ones; made anew when the database no longer knows them (--reset)."""
    path = data_dir / KEYS_FILE
    try:
        stored: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        stored = {}
    if _still_valid(engine, stored):
        return stored
    made = {"token_secret": secrets.token_urlsafe(32)}
    with write_tx(engine) as conn:
        for scope in DEMO_KEYS:
            key, full = issue_key(conn, name=f"demo {scope}", scopes=[scope])
            made[scope] = full
            made[f"{scope}_id"] = key.key_id
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(made, f, indent=2)
    return made


def _still_valid(engine: Engine, stored: dict[str, str]) -> bool:
    if not stored.get("token_secret") or any(s not in stored for s in DEMO_KEYS):
        return False
    with read_tx(engine) as conn:
        for scope in DEMO_KEYS:
            row = get_key(conn, key_id=stored.get(f"{scope}_id", ""))
            if row is None or not row.active:
                return False
    return True
