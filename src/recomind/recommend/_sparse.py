"""Small vectorised sparse-matrix and persistence helpers shared by the strategies."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

logger = logging.getLogger(__name__)


def as_csr(m: Any, n_cols: int) -> sparse.csr_matrix:
    """Return ``m`` as a float32 CSR matrix with ``n_cols`` columns (validated)."""
    out = sparse.csr_matrix(m, dtype=np.float32)
    if out.shape[1] != n_cols:
        raise ValueError(f"history has {out.shape[1]} columns, the model knows {n_cols} items")
    out.sum_duplicates()
    return out


def positive_part(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Copy of ``m`` keeping only strictly positive entries."""
    out = sparse.csr_matrix(m, dtype=np.float32, copy=True)
    out.data[out.data < 0] = 0.0
    out.eliminate_zeros()
    return out


def scale_negatives(m: sparse.csr_matrix, negative_weight: float) -> sparse.csr_matrix:
    """Copy of ``m`` with negative entries (skips) multiplied by ``negative_weight``."""
    out = sparse.csr_matrix(m, dtype=np.float32, copy=True)
    neg = out.data < 0
    out.data[neg] *= np.float32(negative_weight)
    out.eliminate_zeros()
    return out


def l2_normalize_rows(m: sparse.csr_matrix) -> sparse.csr_matrix:
    """Copy of ``m`` with each row scaled to unit L2 norm (zero rows stay zero)."""
    out = sparse.csr_matrix(m, dtype=np.float32, copy=True)
    sq = np.asarray(out.multiply(out).sum(axis=1)).ravel()
    norms = np.sqrt(sq, dtype=np.float64)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    counts = np.diff(out.indptr)
    out.data *= np.repeat(inv, counts).astype(np.float32)
    return out


def topk_per_row(m: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Keep the ``k`` largest entries of each row of ``m`` (vectorised, no Python loop)."""
    m = sparse.csr_matrix(m)
    m.sum_duplicates()
    counts = np.diff(m.indptr)
    if counts.size == 0 or counts.max(initial=0) <= k:
        return m
    rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), counts)
    order = np.lexsort((-m.data, rows))
    rank = np.arange(order.size, dtype=np.int64) - m.indptr[rows[order]]
    keep = order[rank < k]
    out = sparse.csr_matrix(
        (m.data[keep], (rows[keep], m.indices[keep])), shape=m.shape, dtype=m.dtype
    )
    out.sort_indices()
    return out


def row_topk_dense(scores: npt.NDArray[np.float32], k: int) -> sparse.csr_matrix:
    """Sparse matrix holding the ``k`` largest positive values of each dense row."""
    n_rows, n_cols = scores.shape
    k = min(k, n_cols)
    if k <= 0 or n_rows == 0:
        return sparse.csr_matrix((n_rows, n_cols), dtype=np.float32)
    idx = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(scores, idx, axis=1)
    rows = np.repeat(np.arange(n_rows), k)
    out = sparse.csr_matrix(
        (vals.ravel(), (rows, idx.ravel())), shape=(n_rows, n_cols), dtype=np.float32
    )
    out.data[out.data < 0] = 0.0
    out.eliminate_zeros()
    return out


# -- pickle-free persistence ---------------------------------------------------------------


def csr_state(prefix: str, m: sparse.csr_matrix) -> dict[str, npt.NDArray[Any]]:
    """Arrays describing a CSR matrix, keyed ``{prefix}_data`` etc."""
    m = sparse.csr_matrix(m)
    return {
        f"{prefix}_data": np.asarray(m.data),
        f"{prefix}_indices": np.asarray(m.indices),
        f"{prefix}_indptr": np.asarray(m.indptr),
        f"{prefix}_shape": np.asarray(m.shape, dtype=np.int64),
    }


def csr_from_state(prefix: str, arrays: dict[str, npt.NDArray[Any]]) -> sparse.csr_matrix:
    """Inverse of :func:`csr_state`."""
    shape = tuple(int(x) for x in arrays[f"{prefix}_shape"])
    return sparse.csr_matrix(
        (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
        shape=shape,
    )


def strings_state(prefix: str, values: list[str]) -> dict[str, npt.NDArray[Any]]:
    """Encode strings as one UTF-8 byte array plus offsets (compact, pickle-free)."""
    encoded = [v.encode("utf-8") for v in values]
    lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    blob = np.frombuffer(b"".join(encoded), dtype=np.uint8).copy()
    return {f"{prefix}_bytes": blob, f"{prefix}_offsets": offsets}


def strings_from_state(prefix: str, arrays: dict[str, npt.NDArray[Any]]) -> list[str]:
    """Inverse of :func:`strings_state`."""
    blob = arrays[f"{prefix}_bytes"].tobytes()
    offsets = arrays[f"{prefix}_offsets"]
    return [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(len(offsets) - 1)]


def tag_matrix(item_tags: list[list[str]]) -> tuple[sparse.csr_matrix, list[str]]:
    """Binary item x tag matrix and the tag vocabulary (sorted)."""
    vocab = sorted({t for tags in item_tags for t in tags})
    index = {t: i for i, t in enumerate(vocab)}
    rows: list[int] = []
    cols: list[int] = []
    for i, tags in enumerate(item_tags):
        for t in dict.fromkeys(tags):
            rows.append(i)
            cols.append(index[t])
    m = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(len(item_tags), len(vocab)),
        dtype=np.float32,
    )
    return m, vocab
