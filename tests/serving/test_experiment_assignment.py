"""Assignment: deterministic, sticky (a function of the salt and the user id only), and
following the weights (no sample-ratio mismatch over 10,000 ids)."""

from __future__ import annotations

from collections import Counter

import pytest

from recomind.analytics.ab_stats import SRM_ALPHA, srm_p_value
from recomind.experiment_spec import SpecError, Variant, assign, bucket, parse

VARIANTS = (Variant("control", "current", 1.0), Variant("b", "trending", 3.0))
IDS = [f"user-{i}" for i in range(10_000)]


def test_assignment_is_deterministic_and_depends_on_the_salt() -> None:
    first = [assign("s1", u, VARIANTS).name for u in IDS[:500]]
    assert first == [assign("s1", u, VARIANTS).name for u in IDS[:500]]
    other = [assign("s2", u, VARIANTS).name for u in IDS[:500]]
    assert first != other  # another salt reshuffles
    assert all(0.0 <= bucket("s1", u) < 1.0 for u in IDS[:500])


@pytest.mark.parametrize("weights", [(1.0, 1.0), (1.0, 3.0), (2.0, 1.0, 1.0)])
def test_weights_are_respected_without_srm(weights: tuple[float, ...]) -> None:
    variants = tuple(Variant(f"v{i}", "current", w) for i, w in enumerate(weights))
    got = Counter(assign("weights", u, variants).name for u in IDS)
    users = [got[v.name] for v in variants]
    assert srm_p_value(users, list(weights)) > SRM_ALPHA
    for v, n in zip(variants, users, strict=True):
        assert n / len(IDS) == pytest.approx(v.weight / sum(weights), abs=0.02)


def test_a_spec_is_checked_field_by_field() -> None:
    good = {
        "name": "t1",
        "variants": [{"name": "a", "ranker": "current"}, {"name": "b", "ranker": "trending"}],
    }
    experiment = parse(good)
    assert experiment.salt == "t1" and experiment.control == "a"
    assert experiment.horizon_users == 500 and experiment.primary == "like_rate"
    bad = [
        ({**good, "name": "bad name"}, "name"),
        ({**good, "variants": good["variants"][:1]}, "variants"),
        (
            {**good, "variants": [good["variants"][0], {"name": "a", "ranker": "current"}]},
            "variants[1].name",
        ),
        (
            {**good, "variants": [good["variants"][0], {"name": "b", "ranker": "nope"}]},
            "variants[1].ranker",
        ),
        (
            {**good, "variants": [good["variants"][0], {"name": "b", "ranker": "model:v1"}]},
            "variants[1].ranker",
        ),
        (
            {
                **good,
                "variants": [good["variants"][0], {"name": "b", "ranker": "trending", "weight": 0}],
            },
            "variants[1].weight",
        ),
        ({**good, "horizon_users": 3}, "horizon_users"),
        ({**good, "primary": "clicks"}, "primary"),
        ({**good, "surface": "search"}, "surface"),
    ]
    for body, field_name in bad:
        with pytest.raises(SpecError) as raised:
            parse(body)
        assert raised.value.field == field_name, body
