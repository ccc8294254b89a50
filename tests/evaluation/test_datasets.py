"""Loaders on the real data sets, title parsing and the missing-data message."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recomind.evaluation.datasets import (
    DatasetNotFoundError,
    load,
    load_microlens,
    load_movielens,
    parse_title,
)


def test_parse_title_hashtags() -> None:
    text, tags = parse_title(
        "This sudden reversal, guess the ending # funny God reversal #Unexpected ending # funny"
    )
    assert text == "This sudden reversal, guess the ending"
    assert tags == ["funny god reversal", "unexpected ending", "funny"]
    assert parse_title("no tags here") == ("no tags here", [])
    assert parse_title("#a#b") == ("", ["a", "b"])


def test_missing_dir_names_path_and_source(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError) as err:
        load_microlens(tmp_path)
    msg = str(err.value)
    assert str(tmp_path / "MicroLens-50k") in msg
    assert "github.com/westlake-repl/MicroLens" in msg and "2309.15379" in msg
    with pytest.raises(DatasetNotFoundError, match=r"grouplens\.org"):
        load("movielens-small", tmp_path)


def test_unknown_dataset() -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        load("netflix")


def test_movielens(movielens_dir: Path) -> None:
    ds = load_movielens(movielens_dir)
    d = ds.interactions
    assert d.n_users == 610
    assert d.n_items == 9742
    assert d.users.size == 100_836
    assert np.all(np.diff(d.users) >= 0), "events are sorted by user"
    same = d.users[1:] == d.users[:-1]
    assert np.all(d.timestamps[1:][same] >= d.timestamps[:-1][same]), "then by time"
    toy_story = d.item_ids.index("1")
    assert d.item_titles[toy_story] == "Toy Story (1995)"
    assert {"animation", "comedy", "pixar"} <= set(d.item_tags[toy_story])
    assert d.item_created is not None and not np.isnan(d.item_created[toy_story])


def test_microlens(microlens_dir: Path) -> None:
    ds = load_microlens(microlens_dir)
    d = ds.interactions
    assert d.n_users == 50_000
    assert d.n_items == 19_220
    assert d.users.size == 359_708
    assert d.user_ids[0] == "1"
    first = d.items[d.users == 0]
    assert [d.item_ids[i] for i in first] == ["1958", "6346", "15223", "17700", "1707"]
    assert d.timestamps[d.users == 0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    item3 = d.item_ids.index("3")
    assert "funny" in d.item_tags[item3]
    assert not any("#" in t for tags in d.item_tags for t in tags)
    assert all(t == t.lower() for tags in d.item_tags for t in tags)
    assert not d.item_titles[item3].endswith("#")
