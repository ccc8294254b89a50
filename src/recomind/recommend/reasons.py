"""Why an item is on a page: the strategy that contributed most, and a short text from it.

A reason comes from the item's main source and always names something the user did or the
item has: a history tag it matches (content: ``because you liked #tag``), the liked or
watched video it follows (item-kNN, EASE), or, for the popular, its most relevant tag
(``popular in #tag``). Sources with no evidence of their own (user-kNN, ALS) and
explanations that find none fall back to :func:`evidence_reasons`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import sparse

from recomind.recommend._sparse import positive_part
from recomind.recommend.base import FloatArray, Recommendation, Recommender
from recomind.recommend.candidates import CandidateRow, Rescorer
from recomind.recommend.catalogue import ItemCatalogue

#: The source every item falls back to (the hybrid's trending component).
POPULAR = "popularity"
#: Sources that name a history tag the item matches: the text with the tag.
TAG_REASONS = {"content": "because you liked #{}"}
#: Sources that name the liked or watched video an item follows: the text with its title.
ITEM_REASONS = {"itemknn": "viewers of {} also liked", "ease": "because you watched {}"}


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
    model = models.get(POPULAR)
    ranking = model.ranking() if model is not None else None
    popular = ranking[0] if ranking is not None else None
    unexplained: list[int] = []
    for src, js in by_source.items():
        its = [items[j] for j in js]
        texts: list[str | None]
        if src in TAG_REASONS:
            tags = models[src].explain_tags(history, its)
            texts = [TAG_REASONS[src].format(t) if t else None for t in tags]
        elif src in ITEM_REASONS:
            titles, ids = catalogue.titles, catalogue.item_ids
            texts = [
                None if s is None else ITEM_REASONS[src].format(titles[s] or ids[s])
                for s in models[src].explain_items(history, its)
            ]
        elif src == POPULAR and popular is not None:  # only the truly popular say so
            named = iter(
                popular_reasons(history, [i for i in its if popular[i] > 0], catalogue=catalogue)
            )
            texts = [next(named) if popular[i] > 0 else None for i in its]
        else:
            texts = [None] * len(its)
        for j, text in zip(js, texts, strict=True):
            if text is None:
                unexplained.append(j)
            else:
                out[j] = text
    if unexplained:
        fallback = evidence_reasons(
            history, [items[j] for j in unexplained], catalogue=catalogue, popular=popular
        )
        for j, text in zip(unexplained, fallback, strict=True):
            out[j] = text
    return out


def evidence_reasons(
    history: sparse.csr_matrix,
    items: Sequence[int],
    *,
    catalogue: ItemCatalogue,
    popular: FloatArray | None = None,
) -> list[str]:
    """Per item, a reason with evidence when its source gave none.

    ``because you liked #tag`` for its tag the history likes most (liked or watched), else
    ``more from the creator of <title>`` for the history's strongest liked or watched item
    of its creator, else ``popular in #tag`` when ``popular`` (a score per item) is positive
    for it, else ``something different: #tag``; without tags ``trending now`` or
    ``picked for you``.
    """
    pos = positive_part(history)
    hist_tags = (pos @ catalogue.item_tags).toarray().ravel() if pos.nnz else None
    by_creator: dict[int, int] = {}  # creator code -> strongest positive history item
    for h in pos.indices[np.argsort(pos.data, kind="stable")].tolist():  # weakest first
        if catalogue.creators[h] >= 0:
            by_creator[int(catalogue.creators[h])] = h
    out = []
    for item in items:
        idx = catalogue.item_tag_codes(item)
        is_popular = popular is not None and item < popular.size and popular[item] > 0
        liked = by_creator.get(int(catalogue.creators[item]))
        if hist_tags is not None and idx.size and hist_tags[idx].max() > 0:
            out.append(f"because you liked #{catalogue.tags[int(idx[np.argmax(hist_tags[idx])])]}")
        elif liked is not None:
            title = catalogue.titles[liked] or catalogue.item_ids[liked]
            out.append(f"more from the creator of {title}")
        elif idx.size == 0:
            out.append("trending now" if is_popular else "picked for you")
        elif is_popular:
            out.append(f"popular in #{catalogue.tags[int(idx[0])]}")
        else:
            out.append(f"something different: #{catalogue.tags[int(idx[0])]}")
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


def labelled(
    kept: CandidateRow,
    picked: Sequence[int],
    total: FloatArray,
    history: sparse.csr_matrix,
    *,
    rescorer: Rescorer | None,
    position: int,
    explain: bool,
    models: Mapping[str, Recommender],
    catalogue: ItemCatalogue,
) -> list[Recommendation]:
    """The picked candidates of ``kept`` as recommendations, each with its source and reason.

    The source is the rescorer's (the learned ranker's top feature) when there is one, else
    the blend's main part; ``explain=False`` skips the reason texts (lists only scored).
    """
    chosen = [int(kept.items[j]) for j in picked]
    if rescorer is not None and picked:
        sources = rescorer.sources(kept, position, picked)
    else:
        sources = main_sources(kept.parts, picked)
    texts = (
        reasons(sources, chosen, history, models=models, catalogue=catalogue)
        if explain
        else [""] * len(chosen)
    )
    return [
        Recommendation(item=item, score=float(total[j]), reason=text, source=source)
        for item, j, source, text in zip(chosen, picked, sources, texts, strict=True)
    ]
