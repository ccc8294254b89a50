"""Why an item is on a page: the strategy that contributed most, and a short text from it.

A reason comes from the item's main source: a history tag it matches (content), the
watched video it follows (item-kNN, EASE), a fixed phrase (user-kNN, ALS), or otherwise
its most relevant tag among the popular (``popular in #tag``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import sparse

from recomind.recommend._sparse import positive_part
from recomind.recommend.base import FloatArray, Recommender
from recomind.recommend.catalogue import ItemCatalogue

#: The source every item falls back to (the hybrid's trending component).
POPULAR = "popularity"
#: Sources that name a history tag the item matches: text with the tag, text without one.
TAG_REASONS = {"content": ("because you liked #{}", "similar to videos you watched")}
#: Sources that name the watched video an item follows: text with its title, text without.
ITEM_REASONS = {
    "itemknn": ("viewers of {} also liked", "viewers like you also liked this"),
    "ease": ("because you watched {}", "picked for you"),
}
#: Sources with one text for every item.
FIXED_REASONS = {"userknn": "users like you liked this", "als": "picked for you"}


def main_sources(parts: Sequence[tuple[str, FloatArray]], picked: Sequence[int]) -> list[str]:
    """Main source of each picked candidate position: the largest positive part.

    Parameters
    ----------
    parts
        ``(source, weighted score per candidate)`` in blend order.
    picked
        Candidate positions.

    Returns
    -------
    list of str
        One source per position; :data:`POPULAR` where no part is positive (if present).
    """
    if not parts:
        return [POPULAR] * len(picked)
    names = [name for name, _ in parts]
    contrib = np.vstack([part[picked] for _, part in parts])  # components x chosen
    best = contrib.argmax(axis=0)
    return [
        names[b] if contrib[b, j] > 0 or POPULAR not in names else POPULAR
        for j, b in enumerate(best.tolist())
    ]


def reasons(
    sources: Sequence[str],
    items: Sequence[int],
    history: sparse.csr_matrix,
    *,
    models: Mapping[str, Recommender],
    catalogue: ItemCatalogue,
) -> list[str]:
    """One short explanation per item, according to its main source.

    Parameters
    ----------
    sources
        Main source per item (see :func:`main_sources`).
    items
        Item indices.
    history
        The ``(1, n_items)`` history row the page is for.
    models
        The fitted sources by name.
    catalogue
        Titles, ids and tags of the items.

    Returns
    -------
    list of str
        One text per item.
    """
    out = [""] * len(items)
    by_source: dict[str, list[int]] = {}
    for j, src in enumerate(sources):
        by_source.setdefault(src, []).append(j)
    for src, js in by_source.items():
        its = [items[j] for j in js]
        texts: list[str]
        if src in TAG_REASONS:
            template, fallback = TAG_REASONS[src]
            tags = models[src].explain_tags(history, its)
            texts = [template.format(t) if t else fallback for t in tags]
        elif src in ITEM_REASONS:
            template, fallback = ITEM_REASONS[src]
            titles, ids = catalogue.titles, catalogue.item_ids
            texts = [
                fallback if s is None else template.format(titles[s] or ids[s])
                for s in models[src].explain_items(history, its)
            ]
        elif src in FIXED_REASONS:
            texts = [FIXED_REASONS[src]] * len(its)
        else:
            texts = popular_reasons(history, its, catalogue=catalogue)
        for j, text in zip(js, texts, strict=True):
            out[j] = text
    return out


def popular_reasons(
    history: sparse.csr_matrix, items: Sequence[int], *, catalogue: ItemCatalogue
) -> list[str]:
    """``popular in #tag`` per item, preferring its tag the history likes most."""
    pos = positive_part(history)
    hist_tags = (pos @ catalogue.item_tags).toarray().ravel() if pos.nnz else None
    out = []
    for item in items:
        idx = catalogue.item_tag_codes(item)
        if idx.size == 0:
            out.append("trending now")
            continue
        best = int(idx[0])
        if hist_tags is not None and hist_tags[idx].max() > 0:
            best = int(idx[int(np.argmax(hist_tags[idx]))])
        out.append(f"popular in #{catalogue.tags[best]}")
    return out
