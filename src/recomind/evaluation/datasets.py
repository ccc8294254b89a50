"""Loaders for the public data sets RecoMind is measured on, read in place.

The data sets live beside the checkout (``../shared/datasets``) or wherever the user keeps
their own copy; they are never copied into the repository (MicroLens' terms forbid
redistributing it). Both loaders return an :class:`~recomind.recommend.base.Interactions`
with events sorted by user, then time, so the protocols in :mod:`.splits` can cut by position.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from recomind.recommend.base import Interactions

logger = logging.getLogger(__name__)

DatasetName = Literal["microlens-50k", "movielens-small"]
DATASETS: tuple[DatasetName, ...] = ("microlens-50k", "movielens-small")

MICROLENS_DIR = "MicroLens-50k"
MOVIELENS_DIR = "ml-latest-small"

SOURCES: dict[str, str] = {
    "microlens-50k": (
        "MicroLens-50k from https://github.com/westlake-repl/MicroLens "
        "(Ni et al. 2023, 'A Content-Driven Micro-Video Recommendation Dataset at Scale', "
        "arXiv:2309.15379)"
    ),
    "movielens-small": (
        "MovieLens latest-small (ml-latest-small.zip) from "
        "https://grouplens.org/datasets/movielens/ "
        "(Harper & Konstan 2015, 'The MovieLens Datasets: History and Context', ACM TiiS 5(4))"
    ),
}

_HASHTAG = re.compile(r"#\s*([^#]+)")


class DatasetNotFoundError(FileNotFoundError):
    """A data set file or folder is missing; the message says which and where to get it."""


@dataclass(frozen=True)
class Dataset:
    """One loaded data set: its events and where it came from."""

    name: DatasetName
    interactions: Interactions
    source: str


def default_data_dir() -> Path:
    """Where data sets are looked for when no ``--data-dir`` is given.

    ``RECOMIND_DATA_DIR`` wins; otherwise the first existing of ``<repo>/../shared/datasets``
    and ``/work/shared/datasets`` (the first one even if missing, so errors name it).
    """
    env = os.environ.get("RECOMIND_DATA_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    candidates = [repo.parent / "shared" / "datasets", Path("/work/shared/datasets")]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def _require(path: Path, dataset: str) -> Path:
    if not path.exists():
        raise DatasetNotFoundError(
            f"{dataset}: {path} does not exist. Download {SOURCES[dataset]} and unpack it so "
            f"that this path exists, then pass its parent folder with --data-dir "
            f"(or set RECOMIND_DATA_DIR)."
        )
    return path


def parse_title(raw: str) -> tuple[str, list[str]]:
    """Split a MicroLens title into its text and its hashtags.

    A hashtag runs from ``#`` to the next ``#`` or the end (``# funny God reversal`` is one
    tag, as the translated titles write multi-word tags with spaces); tags are lower-cased,
    whitespace-collapsed and de-duplicated in order.
    """
    first = raw.find("#")
    text = raw if first < 0 else raw[:first]
    tags: list[str] = []
    for match in _HASHTAG.finditer(raw):
        tag = " ".join(match.group(1).lower().split())
        if tag and tag not in tags:
            tags.append(tag)
    return " ".join(text.split()), tags


def load_microlens(data_dir: Path | str | None = None) -> Dataset:
    """Load MicroLens-50k: ``MicroLens-50k_pairs.tsv`` and ``MicroLens-50k_titles.csv``.

    Each pairs line is ``user<TAB>item item ...`` in watch order; the position in that order
    is the timestamp (the file carries no clock times). Every event weighs ``1.0``.
    """
    root = _require(Path(data_dir or default_data_dir()) / MICROLENS_DIR, "microlens-50k")
    pairs = _require(root / "MicroLens-50k_pairs.tsv", "microlens-50k")
    titles_path = _require(root / "MicroLens-50k_titles.csv", "microlens-50k")

    item_titles: dict[str, str] = {}
    item_tags: dict[str, list[str]] = {}
    with titles_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text, tags = parse_title(row["title"])
            item_titles[row["item"]] = text
            item_tags[row["item"]] = tags

    user_ids: list[str] = []
    item_index: dict[str, int] = {}
    users: list[int] = []
    items: list[int] = []
    times: list[float] = []
    with pairs.open(encoding="utf-8", newline="") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if not line:
                continue
            user, _, rest = line.partition("\t")
            u = len(user_ids)
            user_ids.append(user)
            for pos, item in enumerate(rest.split()):
                users.append(u)
                items.append(item_index.setdefault(item, len(item_index)))
                times.append(float(pos))
    # Items with titles but no events still belong to the catalogue.
    for item in item_titles:
        item_index.setdefault(item, len(item_index))
    item_ids = list(item_index)
    logger.info(
        "MicroLens-50k: %d users, %d items, %d events", len(user_ids), len(item_ids), len(users)
    )
    data = Interactions(
        user_ids=user_ids,
        item_ids=item_ids,
        users=np.asarray(users, dtype=np.int64),
        items=np.asarray(items, dtype=np.int64),
        weights=np.ones(len(users), dtype=np.float32),
        timestamps=np.asarray(times, dtype=np.float64),
        item_tags=[item_tags.get(i, []) for i in item_ids],
        item_titles=[item_titles.get(i, "") for i in item_ids],
    )
    return Dataset("microlens-50k", data, SOURCES["microlens-50k"])


def load_movielens(
    data_dir: Path | str | None = None, *, weight_by_rating: bool = False
) -> Dataset:
    """Load MovieLens latest-small: every rating is one implicit interaction.

    Genres (lower-cased, ``(no genres listed)`` dropped) and user tags (lower-cased,
    de-duplicated) become item tags; the year in the title gives ``item_created``
    (1 January of that year, UTC). With ``weight_by_rating`` an event weighs ``rating / 2.5``
    instead of ``1.0``.
    """
    root = _require(Path(data_dir or default_data_dir()) / MOVIELENS_DIR, "movielens-small")
    ratings_path = _require(root / "ratings.csv", "movielens-small")
    movies_path = _require(root / "movies.csv", "movielens-small")
    tags_path = root / "tags.csv"

    item_ids: list[str] = []
    titles: list[str] = []
    tags: list[list[str]] = []
    created: list[float] = []
    with movies_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            item_ids.append(row["movieId"])
            titles.append(row["title"].strip())
            genres = [g.lower() for g in row["genres"].split("|") if g != "(no genres listed)"]
            tags.append(genres)
            year = re.search(r"\((\d{4})\)\s*$", row["title"])
            created.append(_year_to_unix(int(year.group(1))) if year else float("nan"))
    item_index = {m: i for i, m in enumerate(item_ids)}

    user_index: dict[str, int] = {}
    users: list[int] = []
    items: list[int] = []
    ratings: list[float] = []
    times: list[float] = []
    with ratings_path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            movie = row["movieId"]
            if movie not in item_index:
                item_index[movie] = len(item_ids)
                item_ids.append(movie)
                titles.append("")
                tags.append([])
                created.append(float("nan"))
            users.append(user_index.setdefault(row["userId"], len(user_index)))
            items.append(item_index[movie])
            ratings.append(float(row["rating"]))
            times.append(float(row["timestamp"]))

    if tags_path.exists():
        with tags_path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                i = item_index.get(row["movieId"])
                tag = " ".join(row["tag"].lower().split())
                if i is not None and tag and tag not in tags[i]:
                    tags[i].append(tag)

    u = np.asarray(users, dtype=np.int64)
    t = np.asarray(times, dtype=np.float64)
    order = np.lexsort((np.arange(u.size), t, u))
    r = np.asarray(ratings, dtype=np.float32)
    weights = r / 2.5 if weight_by_rating else np.ones_like(r)
    logger.info(
        "MovieLens latest-small: %d users, %d items, %d events",
        len(user_index),
        len(item_ids),
        u.size,
    )
    data = Interactions(
        user_ids=list(user_index),
        item_ids=item_ids,
        users=u[order],
        items=np.asarray(items, dtype=np.int64)[order],
        weights=weights[order].astype(np.float32),
        timestamps=t[order],
        item_tags=tags,
        item_titles=titles,
        item_created=np.asarray(created, dtype=np.float64),
    )
    return Dataset("movielens-small", data, SOURCES["movielens-small"])


def _year_to_unix(year: int) -> float:
    return dt.datetime(year, 1, 1, tzinfo=dt.UTC).timestamp()


def load(name: str, data_dir: Path | str | None = None) -> Dataset:
    """Load a data set by its CLI name (``microlens-50k`` or ``movielens-small``)."""
    if name == "microlens-50k":
        return load_microlens(data_dir)
    if name == "movielens-small":
        return load_movielens(data_dir)
    raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(DATASETS)}")
