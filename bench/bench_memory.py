"""Redis bytes per active user: every key RecoMind writes for a user, grouped by kind.

Starts ``recomind serve`` on an embedded SQLite database and bus with the Redis cache
(``--redis``, a database index of its own, a unique key prefix), loads 5,000 videos, then
``--users`` users each post ``--actions`` actions (views, some likes), read their
recommendations (so the list is cached) and their profile, and read both again once the
background refreshes and the consumers are done (a profile read before the consumers stored
the user is a 404 and caches nothing). It then measures, without
knowing how any value is encoded:

* ``MEMORY USAGE key SAMPLES 0`` of every key under the prefix, grouped by kind (the key's
  leading name after the prefix: ``recommendations``, ``recent_actions``, ...), split into
  per-user keys (the key names one of the users) and shared ones;
* Redis ``INFO`` ``used_memory`` before the users act and after, and what deleting the
  prefix at the end frees, each divided by the users (the whole server: other clients'
  writes in between show up in the first; the second spans milliseconds).

Only this run's prefix is deleted at the end.

    python -m bench.bench_memory [--users 500] [--actions 6] [--redis redis://127.0.0.1:6379/9]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import redis

from bench.bench_api import load
from bench.common import AUTH, server, write_results
from recomind.storage import migrate

USER = re.compile(r"(?<![A-Za-z0-9_.-])memu(\d+)(?![A-Za-z0-9_.-])")
KIND = re.compile(r"^[A-Za-z_]+")
AIM_BYTES = 2048


def kind_of(key: str, prefix: str) -> str:
    """The key's leading name after the prefix (``recommendations:u1`` -> ``recommendations``)."""
    m = KIND.match(key[len(prefix) :])
    return m.group(0) if m else "(other)"


def is_user_key(key: str) -> bool:
    return USER.search(key) is not None


def group(sizes: dict[str, int], prefix: str, users: int) -> dict[str, Any]:
    """Bytes by kind, per user and shared, from ``{key: MEMORY USAGE}``."""
    per_user: dict[str, list[int]] = defaultdict(list)
    shared: dict[str, list[int]] = defaultdict(list)
    for k, size in sizes.items():
        (per_user if is_user_key(k) else shared)[kind_of(k, prefix)].append(size)
    kinds = {
        kind: {
            "keys": len(v),
            "bytes": sum(v),
            "bytes_per_user": round(sum(v) / users, 1),
            "bytes_per_key": round(sum(v) / len(v), 1),
        }
        for kind, v in sorted(per_user.items(), key=lambda kv: -sum(kv[1]))
    }
    total = sum(sum(v) for v in per_user.values())
    return {
        "per_user_kinds": kinds,
        "per_user_bytes": round(total / users, 1),
        "shared_kinds": {kind: {"keys": len(v), "bytes": sum(v)} for kind, v in shared.items()},
    }


def key_sizes(r: redis.Redis, prefix: str) -> dict[str, int]:
    keys = [k.decode() for k in r.scan_iter(match=_glob(prefix) + "*", count=1000)]
    sizes: dict[str, int] = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        pipe = r.pipeline(transaction=False)
        for k in chunk:
            pipe.memory_usage(k, samples=0)
        for k, size in zip(chunk, pipe.execute(), strict=True):
            if size is not None:  # expired between SCAN and MEMORY USAGE
                sizes[k] = int(size)
    return sizes


def delete_prefix(r: redis.Redis, prefix: str) -> int:
    n = 0
    keys = list(r.scan_iter(match=_glob(prefix) + "*", count=1000))
    for i in range(0, len(keys), 1000):
        n += int(r.delete(*keys[i : i + 1000]))
    return n


def _glob(s: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", s)


def act(base: str, users: int, actions: int, videos: int) -> dict[str, int]:
    """Each user posts ``actions`` actions, then reads their list and profile."""
    rng = random.Random(5)
    weights = [1.0 / (r + 1) ** 0.8 for r in range(videos)]
    status: dict[str, int] = defaultdict(int)
    with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
        for u in range(users):
            user = f"memu{u}"
            for i, v in enumerate(rng.choices(range(videos), weights=weights, k=actions)):
                body: dict[str, Any] = {"user_id": user, "video_id": f"v{v}"}
                if i % 3 == 2:
                    body["action_type"] = "like"
                else:
                    body |= {"action_type": "view", "watch_time_ms": rng.randint(1000, 30000)}
                r = http.post("/video_action", json=body)
                status[f"POST /video_action {r.status_code}"] += 1
            for path in (f"/recommendations/{user}", f"/users/{user}/profile"):
                r = http.get(path)
                status[f"GET {path.split('/')[1]} {r.status_code}"] += 1
        time.sleep(3)  # background refreshes after likes; the consumers store the users
        for u in range(users):  # every list and profile cached once they are done
            r = http.get(f"/recommendations/memu{u}")
            status[f"second GET recommendations X-Cache {r.headers.get('X-Cache')}"] += 1
            r = http.get(f"/users/memu{u}/profile")
            status[f"second GET users {r.status_code}"] += 1
    return dict(status)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=500)
    ap.add_argument("--actions", type=int, default=6, help="actions per user (every 3rd a like)")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    ap.add_argument("--src", default=None, help="source tree RecoMind runs from (default: this)")
    ap.add_argument("--name", default="memory", help="results file name")
    args = ap.parse_args()
    r = redis.Redis.from_url(args.redis)
    prefix = f"benchmem{uuid.uuid4().hex[:8]}:"
    started = os.getloadavg()
    videos = 5000
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'r.db'}"
        migrate.upgrade(url)
        load(url, videos, 0, 0)
        env = {
            "RECOMIND_DATABASE_URL": url,
            "RECOMIND_CACHE_URL": args.redis,
            "RECOMIND_CACHE_PREFIX": prefix,
            "RECOMIND_EVENT_BUS_URL": f"sqlite:///{Path(tmp) / 'bus.db'}",
            "RECOMIND_LAKE_URL": f"file://{tmp}/lake",
            "RECOMIND_MODEL_DIR": "",
            "RECOMIND_JOBS_INTERVAL_MINUTES": "0",
        }
        if args.src:
            env["PYTHONPATH"] = str(Path(args.src).resolve())
        try:
            with server(env) as base:
                httpx.get(base + "/trending", timeout=60, headers=AUTH)
                before = int(r.info("memory")["used_memory"])
                shared_before = key_sizes(r, prefix)
                t0 = time.perf_counter()
                status = act(base, args.users, args.actions, videos)
                took = time.perf_counter() - t0
                sizes = key_sizes(r, prefix)
                after = int(r.info("memory")["used_memory"])
        finally:
            before_delete = int(r.info("memory")["used_memory"])
            deleted = delete_prefix(r, prefix)
            freed = before_delete - int(r.info("memory")["used_memory"])
    grouped = group(sizes, prefix, args.users)
    figures = {
        "setup": {
            "users": args.users,
            "actions_per_user": args.actions,
            "videos": videos,
            "redis": args.redis,
            "prefix": prefix,
            "src": args.src or "this tree",
            "redis_version": r.info("server")["redis_version"],
            "activity_s": round(took, 1),
        },
        "load_average": {"start": started, "end": os.getloadavg(), "uptime": _uptime()},
        "requests": status,
        **grouped,
        "keys_before_users": len(shared_before),
        "used_memory_delta_bytes": after - before,
        "used_memory_delta_per_user": round((after - before) / args.users, 1),
        "used_memory_freed_by_delete_bytes": freed,
        "used_memory_freed_per_user": round(freed / args.users, 1),
        "aim": {"per_user_bytes": f"<= {AIM_BYTES}", "met": grouped["per_user_bytes"] <= AIM_BYTES},
        "deleted_keys": deleted,
    }
    path = write_results(args.name, figures)
    print(f"{args.users} users x {args.actions} actions in {took:.1f} s; {status}")
    print("| kind | keys | bytes/user | bytes/key |\n| --- | ---: | ---: | ---: |")
    for kind, v in grouped["per_user_kinds"].items():
        print(
            f"| `{kind}` | {v['keys']} | {v['bytes_per_user']:,.0f} | {v['bytes_per_key']:,.0f} |"
        )
    n_keys = sum(v["keys"] for v in grouped["per_user_kinds"].values())
    print(f"| **total (MEMORY USAGE)** | {n_keys} | {grouped['per_user_bytes']:,.0f} | |")
    print(
        f"used_memory delta / user: {figures['used_memory_delta_per_user']:,.0f} bytes, "
        f"freed by deleting the prefix / user: {figures['used_memory_freed_per_user']:,.0f}; "
        f"shared keys: {grouped['shared_kinds']}"
    )
    print(
        f"aim <= {AIM_BYTES} bytes/user: {'met' if figures['aim']['met'] else 'not met'}; "
        f"load average {started} -> {os.getloadavg()}; written to {path}"
    )


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
