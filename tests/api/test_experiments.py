"""``/experiments``: create, list, show, stop and ship (admin only), a served page carrying
its variant with each variant's own list and cache hits, and the results of a small run."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import orjson
import pyarrow.compute as pc

from recomind.experiment_spec import Variant, assign
from recomind.lake.impressions import read_impressions
from recomind.storage.api_keys import issue_key
from recomind.storage.engine import write_tx
from tests.api.helpers import act, bearer, load_catalogue
from tests.utils.stacks import Api

VARIANTS = [
    {"name": "control", "ranker": "current", "weight": 1},
    {"name": "trend", "ranker": "trending", "weight": 1},
]


def body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "variants": VARIANTS, "horizon_users": 50, **extra}


def users_in(name: str, variant: str, count: int, salt: str | None = None) -> list[str]:
    arms = tuple(Variant(v["name"], v["ranker"], v["weight"]) for v in VARIANTS)
    found = []
    for i in range(10_000):
        user = f"{name}-u{i}"
        if assign(salt or name, user, arms).name == variant:
            found.append(user)
            if len(found) == count:
                return found
    raise AssertionError("no such users")


def test_create_list_show_stop_ship_and_their_errors(api: Api) -> None:
    name = f"e-{uuid.uuid4().hex[:8]}"
    r = api.http.post("/experiments", json=body(name))
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["status"] == "running" and made["salt"] == name
    assert [v["name"] for v in made["variants"]] == ["control", "trend"]
    again = api.http.post("/experiments", json=body(name))
    assert again.status_code == 409 and again.json()["field"] == "name", again.text
    other = api.http.post("/experiments", json=body(name + "-2"))
    assert other.status_code == 409 and other.json()["field"] == "surface", other.text
    bad = api.http.post(
        "/experiments", json=body(name + "-3", variants=[VARIANTS[0], {"name": "x"}])
    )
    assert bad.status_code == 422 and bad.json()["field"] == "variants[1].ranker", bad.text
    assert [e["name"] for e in api.http.get("/experiments").json()["experiments"]] == [name]
    assert api.http.get(f"/experiments/{name}").json() == made
    assert api.http.get("/experiments/absent").status_code == 404
    with write_tx(api.engine) as conn:
        _, read_key = issue_key(conn, name="reader", scopes=["read"])
    with httpx.Client(base_url=api.base_url, headers=bearer(read_key)) as reader:
        assert reader.get("/experiments").status_code == 403
        assert reader.post("/experiments", json=body(name + "-4")).status_code == 403
        assert reader.get(f"/experiments/{name}/results").status_code == 403
    no_winner = api.http.post(f"/experiments/{name}/ship")
    assert no_winner.status_code == 409, no_winner.text  # no data, no winner
    unknown = api.http.post(f"/experiments/{name}/ship", json={"variant": "nope"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "variant"
    stopped = api.http.post(f"/experiments/{name}/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert stopped.json()["stopped_at"] is not None
    assert api.http.post(f"/experiments/{name}/stop").status_code == 409
    assert api.http.post(f"/experiments/{name}/ship", json={"variant": "trend"}).status_code == 409
    assert api.http.post("/experiments/absent/stop").status_code == 404
    second = api.http.post("/experiments", json=body(name + "-2"))
    assert second.status_code == 201, second.text  # the surface is free again
    shipped = api.http.post(f"/experiments/{name}-2/ship", json={"variant": "control"})
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped" and shipped.json()["shipped_variant"] == "control"


def _page(api: Api, user: str) -> tuple[str, str, list[str]]:
    r = api.http.get(f"/recommendations/{user}", params={"n": 8})
    assert r.status_code == 200, r.text
    ids = [v["video_id"] for v in r.json()]
    return r.headers.get("x-recomind-variant", ""), r.headers["x-cache"], ids


def test_a_served_page_carries_its_variant_and_each_variant_its_own_list(api: Api) -> None:
    name = f"e-{uuid.uuid4().hex[:8]}"
    load_catalogue(api.http, 30)
    [control] = users_in(name, "control", 1)
    [treated] = users_in(name, "trend", 1)
    for j, fan in enumerate(["fan-a", "fan-b", "fan-c"]):  # popular: travel videos
        for v in ("v3", "v8", "v13", "v18"):
            act(api.http, fan, v, "like")
        act(api.http, fan, f"v{23 + j}", "view", watch_time_ms=20_000)
    for user in (control, treated):  # both like dance (v2, v7, ...)
        act(api.http, user, "v2", "like")
        act(api.http, user, "v7", "like")
    api.settle()
    before = _page(api, control)
    assert before[0] == ""  # no experiment yet
    assert api.http.post("/experiments", json=body(name)).status_code == 201
    trending = [v["video_id"] for v in api.http.get("/trending", params={"n": 30}).json()]
    tag_c, how_c, ids_c = _page(api, control)
    tag_t, _, ids_t = _page(api, treated)
    assert (tag_c, tag_t) == (f"{name}:control", f"{name}:trend")
    assert how_c == "miss"  # the list cached before the experiment is not served
    assert ids_t == [v for v in trending if v not in ("v2", "v7")][:8]
    assert ids_c != ids_t and {"v12", "v17"} & set(ids_c)  # personalized: dance first
    for user, tag, ids in ((control, tag_c, ids_c), (treated, tag_t, ids_t)):
        assert _page(api, user) == (tag, "hit", ids)  # each variant's list, cached
    api.state.recommendations.reset_local_state()  # a restart: the arm is the same
    api.state.recommendations.variants.refresh()
    assert _page(api, treated) == (tag_t, "hit", ids_t)
    assert api.http.post(f"/experiments/{name}/stop").status_code == 200
    tag, how, ids = _page(api, treated)
    assert (tag, how) == ("", "miss") and ids != ids_t  # served as before the experiment
    impressions = api.state.recommendations.impressions
    assert impressions is not None
    impressions.flush()
    table = read_impressions(api.settings.lake_url)
    mine = table.filter(pc.is_in(table.column("user_id"), pc.cast([control, treated], "string")))
    variants = set(mine.column("variant").to_pylist())
    assert {f"{name}:control", f"{name}:trend", None} <= variants


def test_results_of_a_small_run(embedded_api: Api) -> None:
    api = embedded_api
    name = f"e-{uuid.uuid4().hex[:8]}"
    load_catalogue(api.http, 30)
    assert api.http.post("/experiments", json=body(name)).status_code == 201
    control, treated = users_in(name, "control", 6), users_in(name, "trend", 6)
    for user in control + treated:
        act(api.http, user, "v1", "view", watch_time_ms=10_000)
    api.settle()
    for user in control + treated:
        ids = _page(api, user)[2]
        if user in control:  # control users like their first item, trend users skip theirs
            act(api.http, user, ids[0], "like")
        else:
            act(api.http, user, ids[0], "skip")
    api.settle()
    assert api.state.recommendations.impressions is not None
    api.state.recommendations.impressions.flush()
    deadline = time.monotonic() + 10
    while True:
        raw = api.http.get(f"/experiments/{name}/results")
        assert raw.status_code == 200, raw.text
        got = orjson.loads(raw.content)  # strict JSON: no NaN
        liked = {v["name"]: v["metrics"]["like_rate"]["value"] for v in got["variants"]}
        if liked["control"] or time.monotonic() > deadline:
            break
        api.state.experiment_results = None  # the lake catches up: compute again
        time.sleep(0.3)
    by = {v["name"]: v for v in got["variants"]}
    n = 8  # the page size of _page
    assert by["control"]["users"] == 6 and by["trend"]["users"] == 6
    assert by["control"]["impressions"] == 6 * n
    assert by["control"]["metrics"]["like_rate"]["value"] == 1 / n
    assert by["trend"]["metrics"]["like_rate"]["value"] == 0
    assert by["trend"]["metrics"]["skip_rate"]["value"] == 1 / n
    assert got["verdict"]["status"] == "collecting" and got["verdict"]["winner"] is None
    like = next(d for d in got["differences"] if d["metric"] == "like_rate")
    assert like["variant"] == "trend" and like["difference"] == -1 / n
    assert not like["significant"]  # before the horizon nothing is significant
    assert got["over_time"] and {p["variant"] for p in got["over_time"]} == {"control", "trend"}
    assert got["srm_p_value"] == 1.0
