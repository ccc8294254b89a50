"""The experiments each serving process follows: a create, stop or ship made elsewhere (another
process, the CLI) is in force within about a second, and a user's arm is the same in every
process and after a restart."""

from __future__ import annotations

import time

from sqlalchemy import Engine

from recomind.config import Settings
from recomind.experiment_spec import parse
from recomind.serving.experiments import Arm, Variants
from recomind.serving.fallback import CandidatePool, TagAffinityRanker
from recomind.storage.engine import write_tx
from recomind.storage.experiments import create_experiment, end_experiment

SPEC = {
    "name": "reg",
    "variants": [
        {"name": "control", "ranker": "current", "weight": 1},
        {"name": "trend", "ranker": "trending", "weight": 1},
    ],
}


def _process(engine: Engine, settings: Settings) -> tuple[Variants, TagAffinityRanker]:
    pool = CandidatePool(settings)
    current = TagAffinityRanker(settings, pool=pool)
    return Variants(engine, settings, current, pool=pool), current


def _within(seconds: float, variants: Variants, user: str, want: str) -> Arm:
    deadline = time.monotonic() + seconds
    while True:
        arm = variants.arm(user)
        if arm.tag == want or time.monotonic() > deadline:
            return arm
        time.sleep(0.02)


def test_changes_elsewhere_take_effect_within_a_second(engine: Engine) -> None:
    settings = Settings(database_url=str(engine.url), experiments_refresh_s=0.5)
    one, current = _process(engine, settings)
    other, _ = _process(engine, settings)
    assert one.arm("u1").tag == "" and one.arm("u1").ranker is current
    with write_tx(engine) as conn:
        experiment = create_experiment(conn, experiment=parse(SPEC))
    variant = experiment.assign("u1").name
    start = time.monotonic()
    arm = _within(1.5, one, "u1", f"reg:{variant}")
    assert arm.tag == arm.variant == f"reg:{variant}"
    assert time.monotonic() - start < 1.5
    assert _within(1.5, other, "u1", arm.tag).tag == arm.tag  # another process: the same
    restarted, _ = _process(engine, settings)
    restarted.refresh()
    assert restarted.arm("u1").tag == arm.tag  # a restart: the same
    sources = {one.arm(f"user-{i}").ranker.source() for i in range(50)}
    assert sources == {"tag-affinity", "trending"}
    with write_tx(engine) as conn:
        end_experiment(conn, name="reg", shipped_variant="trend")
    shipped = _within(1.5, one, "u1", "shipped:reg")
    assert shipped.tag == "shipped:reg" and shipped.variant is None
    assert shipped.ranker.source() == "trending"  # the shipped ranker serves everyone
