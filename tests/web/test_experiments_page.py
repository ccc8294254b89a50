"""The experiments page in a real browser: an experiment created through the API, pages served
to users of both variants and actions on them, then the page's list, per-variant figures,
verdict, chart, and Stop / Ship through its buttons (checked through the API). Screenshots at
1280 and 390 px go to ``bench/results/screenshots`` (the issue's note shows them)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlparse

import orjson
import pytest

from recomind.experiment_spec import Variant, assign
from tests.utils.credentials import TEST_MASTER_KEY
from tests.utils.stacks import Api
from tests.web.conftest import DESKTOP, PHONE, ROOT, screenshot
from tests.web.helpers import load_catalogue

pytestmark = pytest.mark.browser

SHOTS = ROOT / "bench" / "results" / "screenshots"
HORIZON = 50  # the smallest horizon an experiment may have
PAGE = 8
NO_OVERFLOW = "document.scrollingElement.scrollWidth <= innerWidth"
# No inline script or style, no eval: the page must work under a policy like this one.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
RECORD_VIOLATIONS = """window.cspViolations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));"""


# What the page's formatting functions (js/experiment_results.js) write.
def percent(x: float) -> str:
    return f"{100 * x:.1f} %"


def points(x: float, unit: str = " points") -> str:
    text = f"{100 * x:+.1f}"
    return f"{'0.0' if float(text) == 0 else text}{unit}"


def p_is(p: float) -> str:
    if p < 0.001:
        return "p < 0.001"
    r = float(f"{p:.1e}")  # 2 significant digits, as JavaScript's toPrecision(2)
    return f"p = {r:.{max(0, 1 - math.floor(math.log10(r)))}f}"


def under_strict_csp(page: Any) -> Any:
    """Serve the app's shell to ``page`` with :data:`STRICT_CSP` and record every violation
    in ``window.cspViolations``."""

    def with_policy(route: Any) -> None:
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": STRICT_CSP}
        route.fulfill(response=response, headers=headers)

    page.route(lambda url: urlparse(url).path == "/", with_policy)
    page.add_init_script(RECORD_VIOLATIONS)
    return page


def create(web: Api, name: str, *, weights: tuple[float, float] = (1, 1)) -> dict[str, Any]:
    body = {
        "name": name,
        "surface": "recommendations",
        "variants": [
            {"name": "control", "ranker": "current", "weight": weights[0]},
            {"name": "b", "ranker": "trending", "weight": weights[1]},
        ],
        "horizon_users": HORIZON,
        "primary": "like_rate",
    }
    r = web.http.post("/experiments", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def serve_and_act(web: Api, exp: dict[str, Any], users: list[str], likes: dict[str, int]) -> None:
    """One page per user; each likes ``likes[variant] + i % 3`` of the videos shown, watches
    one for 30-70 % of its 20 s and skips the last (every second control user and every fourth
    b user one more), so b's like rate is far above control's by construction."""
    variants = [Variant(v["name"], v["ranker"], v["weight"]) for v in exp["variants"]]
    actions = []
    for i, user in enumerate(users):
        r = web.http.get(f"/recommendations/{user}", params={"n": PAGE})
        assert r.status_code == 200, r.text
        shown = [item["video_id"] for item in orjson.loads(r.content)]
        assert len(shown) == PAGE
        variant = assign(exp["salt"], user, variants).name
        liked = min(PAGE - 3, likes[variant] + i % 3)
        act: list[tuple[str, str, int | None]] = [(v, "like", None) for v in shown[:liked]]
        act += [(shown[-2], "view", 20_000 * (3 + i % 5) // 10), (shown[-1], "skip", None)]
        if i % (2 if variant == exp["variants"][0]["name"] else 4) == 1:
            act.append((shown[-3], "skip", None))
        actions += [
            {"user_id": user, "video_id": v, "action_type": kind}
            | ({} if ms is None else {"watch_time_ms": ms})
            for v, kind, ms in act
        ]
    r = web.http.post("/video_actions/batch", json={"actions": actions})
    assert r.status_code == 202, r.text
    web.settle()
    log = web.state.recommendations.impressions
    assert log is not None
    log.flush()


def users_until_horizon(exp: dict[str, Any]) -> list[str]:
    """User ids in order until every variant has ``HORIZON`` of them (assignment is a pure
    function of the salt and the id, so the list is the same on every run)."""
    variants = [Variant(v["name"], v["ranker"], v["weight"]) for v in exp["variants"]]
    counts = dict.fromkeys((v.name for v in variants), 0)
    users: list[str] = []
    while min(counts.values()) < HORIZON:
        user = f"u{len(users)}"
        counts[assign(exp["salt"], user, variants).name] += 1
        users.append(user)
    return users


def results(web: Api, name: str) -> dict[str, Any]:
    r = web.http.get(f"/experiments/{name}/results")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def status(web: Api, name: str) -> dict[str, Any]:
    r = web.http.get(f"/experiments/{name}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_figures_verdict_chart_and_ship(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http, per_tag=4)
    exp = create(web, "ranker-test")
    serve_and_act(web, exp, users_until_horizon(exp), {"control": 0, "b": 3})
    res = results(web, "ranker-test")
    assert res["verdict"]["status"] == "decided", res["verdict"]
    assert res["verdict"]["winner"] == "b"
    [win] = [d for d in res["differences"] if d["variant"] == "b" and d["metric"] == "like_rate"]
    assert win["significant"] and win["low"] > 0

    interval = f"95 % CI {points(win['low'], '')} to {points(win['high'], '')}"
    diff = f"{points(win['difference'])} ({interval})"
    headline = f"b is better on like rate: {diff}, {p_is(win['p_value'])}"

    page = under_strict_csp(page_factory(web.base_url, viewport=DESKTOP))
    page.goto("/#/experiments")
    item = page.locator('.exp-item[data-experiment="ranker-test"]')
    item.wait_for()
    assert item.locator(".chip").inner_text() == "running"
    assert "control (current) vs b (trending)" in item.inner_text()
    page.wait_for_selector(f'.exp-verdict:text-is("{headline}")')
    item.get_by_role("link", name="ranker-test").click()

    page.wait_for_selector(".variant-card")
    assert page.url.endswith("#/experiments/ranker-test")
    for v in res["variants"]:
        card = page.locator(f'.variant-card[data-variant="{v["name"]}"]')
        users = f"{v['users']} of {HORIZON} users"
        if v["users"] >= HORIZON:
            users = f"{v['users']} users (horizon of {HORIZON} reached)"
        assert card.locator(".variant-users").inner_text() == users
        assert (
            card.locator(".variant-impressions").inner_text() == f"{v['impressions']} impressions"
        )
        like = v["metrics"]["like_rate"]
        row = card.locator('.metric-row[data-metric="like_rate"]')
        assert row.locator(".metric-value").inner_text() == percent(like["value"])
        ci = f"95 % CI {percent(like['low'])} to {percent(like['high'])}"
        assert row.locator(".metric-ci").inner_text() == ci
        assert row.locator("svg.interval-bar rect.ci").count() == 1
    assert page.locator("#verdict-headline").inner_text() == headline
    b_like = page.locator('.variant-card[data-variant="b"] .metric-row[data-metric="like_rate"]')
    assert b_like.locator(".metric-diff").inner_text().startswith(f"vs control: {diff}")
    assert f"{p_is(res['srm_p_value'])}, no mismatch" in page.locator("#srm-text").inner_text()

    # The chart: one line (or dot, within one hour) per variant, with its legend.
    chart = page.locator("#over-time-chart svg")
    assert chart.locator("g.series").count() == 2
    assert chart.locator("circle.point").count() >= 2
    assert page.locator("#over-time-legend li").all_inner_texts() == ["control", "b"]
    page.select_option("#over-time-metric", "skip_rate")
    assert "Skip rate" in (chart.get_attribute("aria-label") or "")
    page.select_option("#over-time-metric", "like_rate")
    screenshot(page, "experiments-1280", directory=SHOTS, full_page=True)

    phone = page_factory(web.base_url, viewport=PHONE)
    phone.goto("/#/experiments/ranker-test")
    phone.wait_for_selector("#over-time-chart svg")
    assert phone.locator("#verdict-headline").inner_text() == headline
    assert phone.evaluate(NO_OVERFLOW)
    screenshot(phone, "experiments-390", directory=SHOTS, full_page=True)

    # Ship: the winner is chosen by default; a confirm step, then the API says shipped.
    assert page.locator("#ship-variant").input_value() == "b"
    page.locator("#exp-ship").click()
    assert "Ship b of ranker-test?" in page.locator("#confirm-text").inner_text()
    page.locator("#confirm-yes").click()
    page.wait_for_selector("#exp-status .status-shipped")
    shipped = status(web, "ranker-test")
    assert shipped["status"] == "shipped" and shipped["shipped_variant"] == "b"
    assert page.locator("#exp-ship").is_disabled()
    assert page.locator("#exp-stop").is_disabled()
    assert page.locator("#ship-hint").inner_text() == "Shipped b: nothing more to ship."
    assert page.evaluate("window.cspViolations") == []


def test_collecting_cancel_stop_and_unknown(web: Api, page_factory: Any) -> None:
    load_catalogue(web.http, per_tag=2)
    exp = create(web, "small-test", weights=(1, 3))
    serve_and_act(web, exp, [f"s{i}" for i in range(12)], {"control": 1, "b": 1})
    res = results(web, "small-test")
    assert res["verdict"]["status"] == "collecting"
    counts = {v["name"]: v["users"] for v in res["variants"]}
    assert sum(counts.values()) == 12

    page = under_strict_csp(page_factory(web.base_url, viewport=PHONE))
    page.goto("/#/experiments/small-test")
    page.wait_for_selector(".variant-card")
    parts = "; ".join(
        f"{n} of {HORIZON} users in {'control' if name == 'control' else 'variant ' + name}"
        for name, n in counts.items()
    )
    assert page.locator("#verdict-headline").inner_text() == f"Collecting: {parts}"
    assert page.locator("#verdict-caveats li").count() == len(res["verdict"]["caveats"])
    assert page.locator("#ship-variant").input_value() == ""  # no winner, nothing chosen
    assert page.locator("#exp-ship").is_disabled()
    assert page.evaluate(NO_OVERFLOW)

    # Stop asks first; Cancel leaves it running.
    page.locator("#exp-stop").click()
    assert page.locator("#exp-confirm").is_visible()
    page.locator("#confirm-no").click()
    assert page.locator("#exp-confirm").is_hidden()
    assert status(web, "small-test")["status"] == "running"
    page.locator("#exp-stop").click()
    screenshot(page, "experiments-collecting-390", full_page=True)
    page.locator("#confirm-yes").click()
    page.wait_for_selector("#exp-status .status-stopped")
    assert status(web, "small-test")["status"] == "stopped"
    assert page.locator("#exp-stop").is_disabled()
    assert page.locator("#exp-ship").is_disabled()  # the API ships running experiments only
    assert page.locator("#ship-hint").inner_text().startswith("Stopped: ")

    # An unknown name is a sentence, not a JSON body.
    page.goto("/#/experiments/no-such-test")
    page.wait_for_selector("text=No experiment is named “no-such-test”.")
    assert "{" not in page.locator("main").inner_text()
    assert page.evaluate("window.cspViolations") == []


def test_verdict_words_for_a_sample_ratio_mismatch(web: Api, page_factory: Any) -> None:
    """The SRM wording, from the page's own module on a results body with a mismatch (the
    live API cannot be made to mis-assign users)."""
    page = page_factory(web.base_url, viewport=PHONE)
    page.goto("/#/experiments")
    text = page.evaluate(
        """async () => {
          const m = await import('/static/js/experiment_results.js');
          const metric = { value: 0.1, low: 0.05, high: 0.15 };
          const v = (name, users) => ({ name, ranker: 'current', weight: 1, users,
            impressions: users * 8, metrics: { like_rate: metric, skip_rate: metric,
            watch_fraction: metric } });
          return m.verdictText({ control: 'control', horizon_users: 50, primary: 'like_rate',
            srm_p_value: 0.00001234, variants: [v('control', 400), v('b', 300)], differences: [],
            verdict: { status: 'srm', winner: null, caveats: [] } });
        }"""
    )
    assert text["headline"] == "No verdict: sample-ratio mismatch"
    assert text["lines"][0].startswith(
        "Users per variant (400 control, 300 variant b) do not follow the weights 1 : 1 (p < 0.001)"
    )


def test_verdict_words_without_a_winner_and_with_two_treatments(
    web: Api, page_factory: Any
) -> None:
    """Decided without a winner (an A/A test's usual end), a significantly worse treatment,
    the Bonferroni level of two treatments' intervals, and control as the winner (it beats
    every treatment), from the page's own module."""
    page = page_factory(web.base_url, viewport=PHONE)
    page.goto("/#/experiments")
    texts = page.evaluate(
        """async () => {
          const m = await import('/static/js/experiment_results.js');
          const metric = { value: 0.1, low: 0.05, high: 0.15 };
          const v = (name) => ({ name, ranker: 'current', weight: 1, users: 60,
            impressions: 480, metrics: { like_rate: metric, skip_rate: metric,
            watch_fraction: metric } });
          const d = (variant, metric, difference, p, significant) => ({ variant, metric,
            difference, relative: difference / 0.1, low: difference - 0.01,
            high: difference + 0.01, p_value: p, significant });
          const body = (variants, differences) => ({ control: 'control', horizon_users: 50,
            primary: 'like_rate', srm_p_value: 0.5, variants, differences,
            verdict: { status: 'decided', winner: null, caveats: [] } });
          return [
            m.verdictText(body([v('control'), v('b')], [d('b', 'like_rate', 0.003, 0.66, false)])),
            m.verdictText(body([v('control'), v('b'), v('c')],
              [d('b', 'like_rate', -0.02, 0.004, true), d('c', 'like_rate', 0.001, 0.9, false)])),
            m.verdictText({
              ...body([v('control'), v('b')], [d('b', 'like_rate', -0.02, 0.004, true)]),
              verdict: { status: 'decided', winner: 'control', caveats: [] } }),
          ];
        }"""
    )
    aa, two, control = texts
    assert aa["headline"] == "No winner on like rate: no variant beats control significantly"
    assert aa["lines"][0] == (
        "b vs control on like rate: +0.3 points (95 % CI -0.7 to +1.3), p = 0.66, not significant"
    )
    assert two["lines"][0] == (
        "b is worse on like rate: -2.0 points (97.5 % CI -3.0 to -1.0), p = 0.0040"
    )
    assert control["headline"] == (
        "control is better on like rate than every treatment: "
        "b -2.0 points (95 % CI -3.0 to -1.0), p = 0.0040"
    )
    assert control["lines"] == [
        "Decided on the first 50 users of each variant; later users do not change it."
    ]


def test_asks_for_an_admin_key(web: Api, page_factory: Any) -> None:
    page = page_factory(web.base_url, viewport=PHONE, admin_key=False)
    page.goto("/dashboard")
    page.get_by_role("button", name="Experiments").click()  # the dashboard links here
    page.wait_for_url("**/#/experiments")
    page.wait_for_selector("form.admin-key:not([hidden])")
    assert "Paste an admin key" in page.locator("#exp-message").inner_text()
    page.get_by_label("Experiments need a key with the admin scope").fill(TEST_MASTER_KEY)
    page.get_by_role("button", name="Use key").click()
    page.wait_for_selector("#experiments-empty")
    assert page.locator("form.admin-key").is_hidden()
    assert page.locator("#exp-message").inner_text() == ""
