"""Content-based recommendations: TF-IDF over tags and title words, cosine ranking.

Fitting needs ``scikit-learn`` (the ``ml`` extra; without it :meth:`ContentRecommender.fit`
raises :class:`~recomind.recommend.extras.MissingExtraError`); a fitted, saved model scores
with numpy and scipy alone.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse

from recomind.recommend._sparse import (
    as_csr,
    csr_from_state,
    csr_state,
    l2_normalize_rows,
    scale_negatives,
    strings_from_state,
    strings_state,
)
from recomind.recommend.base import FloatArray, Interactions, Recommender
from recomind.recommend.extras import require

logger = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]{2,}", re.UNICODE)
TAG_PREFIX = "#"
#: Prefix of the creator feature (no tag or title word starts with it).
CREATOR_PREFIX = "@"


def _tokens(tags: list[str], title: str, creator: str = "") -> list[str]:
    """Tag tokens (``#tag``), lower-cased title words and the creator (``@creator``)."""
    toks = [TAG_PREFIX + t.lower().lstrip("#") for t in tags if t]
    toks.extend(_WORD.findall(title.lower()))
    if creator:
        toks.append(CREATOR_PREFIX + creator)
    return toks


class ContentRecommender(Recommender):
    """Cosine similarity between a user profile and TF-IDF item vectors.

    Item vectors are TF-IDF weighted (sublinear tf, smooth idf) over tags, title words and
    the creator, with tag features multiplied by ``tag_weight`` and the creator feature by
    ``creator_weight``, then L2-normalised: one like leads to its tags and its creator. A
    user profile is
    the history-weighted sum of item vectors (likes weigh more than views; skips, scaled by
    ``negative_weight``, subtract), L2-normalised. Items without any interactions are
    scored like any other item, so this handles cold items.

    Parameters
    ----------
    tag_weight
        Multiplier of tag features relative to title words.
    creator_weight
        Multiplier of the creator feature (``0``: creators are not features).
    negative_weight
        Multiplier applied to negative history weights (skips).
    """

    name = "content"

    def __init__(
        self, tag_weight: float = 2.0, negative_weight: float = 0.5, creator_weight: float = 1.0
    ) -> None:
        super().__init__()
        self.tag_weight = float(tag_weight)
        self.creator_weight = float(creator_weight)
        self.negative_weight = float(negative_weight)
        self.item_vectors_ = sparse.csr_matrix((0, 0), dtype=np.float32)
        self.vocab_: list[str] = []
        self.is_tag_ = np.zeros(0, dtype=bool)

    def fit(self, data: Interactions) -> Self:
        """Build the L2-normalised TF-IDF item x feature matrix."""
        self.n_items = data.n_items
        creators = data.item_creators if self.creator_weight > 0 else [""] * data.n_items
        docs = [
            _tokens(tags, title, creator)
            for tags, title, creator in zip(data.item_tags, data.item_titles, creators, strict=True)
        ]
        text = require("sklearn.feature_extraction.text", extra="ml", strategy=self.name)
        if any(docs):
            vec = text.TfidfVectorizer(
                analyzer=lambda d: d, sublinear_tf=True, norm=None, dtype=np.float32
            )
            x = sparse.csr_matrix(vec.fit_transform(docs), dtype=np.float32)
            self.vocab_ = [str(v) for v in vec.get_feature_names_out()]
        else:
            x = sparse.csr_matrix((self.n_items, 0), dtype=np.float32)
            self.vocab_ = []
        self.is_tag_ = np.array([v.startswith(TAG_PREFIX) for v in self.vocab_], dtype=bool)
        is_creator = np.array([v.startswith(CREATOR_PREFIX) for v in self.vocab_], dtype=bool)
        scale = np.where(self.is_tag_, self.tag_weight, 1.0)
        scale = np.where(is_creator, self.creator_weight, scale).astype(np.float32)
        if x.shape[1] and not np.all(scale == 1.0):
            x = x @ sparse.diags(scale)
        self.item_vectors_ = l2_normalize_rows(sparse.csr_matrix(x))
        self.fitted = True
        logger.info("content fitted: %d items x %d features", *self.item_vectors_.shape)
        return self

    def profiles(self, histories: sparse.csr_matrix) -> npt.NDArray[np.float32]:
        """Dense, L2-normalised ``(n_rows, n_features)`` user profiles."""
        h = scale_negatives(as_csr(histories, self.n_items), self.negative_weight)
        prof = np.asarray((h @ self.item_vectors_).toarray(), dtype=np.float32)
        norms = np.linalg.norm(prof, axis=1, keepdims=True)
        np.divide(prof, norms, out=prof, where=norms > 0)
        return prof

    def score(self, histories: sparse.csr_matrix) -> FloatArray:
        """Cosine between each row's profile and every item vector."""
        prof = self.profiles(histories)
        scores = np.asarray(self.item_vectors_ @ prof.T, dtype=np.float32).T
        return np.ascontiguousarray(scores)

    def score_rows(self, histories: sparse.csr_matrix) -> FloatArray:
        """:meth:`score`, one sparse mat-vec per row (no transpose of a wide result)."""
        prof = self.profiles(histories)
        out = np.empty((prof.shape[0], self.n_items), dtype=np.float32)
        for r in range(prof.shape[0]):
            out[r] = self.item_vectors_ @ prof[r]
        return out

    def explain_tags(self, history: sparse.csr_matrix, items: list[int]) -> list[str | None]:
        """For each of ``items``, the strongest profile tag it carries (or ``None``)."""
        if not self.vocab_:
            return [None] * len(items)
        if not items:
            return []
        prof = self.profiles(history[:1])[0]
        weight = np.where(self.is_tag_ & (prof > 0), prof, 0.0).astype(np.float32)
        vecs = self.item_vectors_[items]
        contrib = vecs.multiply(weight[None, :]).toarray()
        best = contrib.argmax(axis=1)
        return [
            self.vocab_[b][len(TAG_PREFIX) :] if contrib[j, b] > 0 else None
            for j, b in enumerate(best.tolist())
        ]

    def state(self) -> dict[str, npt.NDArray[Any]]:
        return {**csr_state("items", self.item_vectors_), **strings_state("vocab", self.vocab_)}

    def set_state(self, arrays: dict[str, npt.NDArray[Any]]) -> None:
        self.item_vectors_ = csr_from_state("items", arrays)
        self.vocab_ = strings_from_state("vocab", arrays)
        self.is_tag_ = np.array([v.startswith(TAG_PREFIX) for v in self.vocab_], dtype=bool)
