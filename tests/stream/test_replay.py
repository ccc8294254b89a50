"""``recomind replay --from-lake`` rebuilds popularity and profiles from the Parquet lake."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

from sqlalchemy import delete

from recomind.config import Settings
from recomind.storage.tables import user_profiles, video_popularity
from tests.api.helpers import load_catalogue
from tests.conftest import truncate
from tests.stream.helpers import actions, derived_state, post_all
from tests.utils.stacks import running_api, settings_env


def test_replay_from_lake_restores_derived_state(stack_settings: Callable[..., Settings]) -> None:
    settings = stack_settings("embedded", lake_flush_events=100)
    with running_api(settings) as api:
        truncate(api.engine)
        load_catalogue(api.http, 25)
        post_all(api.base_url, actions(300, seed=3))
        api.settle()
        before = derived_state(api.engine)
        with api.engine.begin() as conn:  # disaster: derived tables lost
            conn.execute(delete(video_popularity))
            conn.execute(delete(user_profiles))
        assert derived_state(api.engine) == ({}, {})
        r = subprocess.run(
            [sys.executable, "-m", "recomind", "replay", "--from-lake"],
            env={**os.environ, **settings_env(settings)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr
        assert "from 300 events" in r.stdout
        after = derived_state(api.engine)
    assert set(after[0]) == set(before[0])
    for vid, (score, n) in before[0].items():
        assert after[0][vid][1] == n
        assert abs(after[0][vid][0] - score) <= 1e-6 * max(1.0, abs(score))
    assert after[1].keys() == before[1].keys()
