"""Cached lists in compact form: video ids, scores and reason codes, nothing else.

``recommendations:{user_id}`` and ``popular_videos`` hold a list in this form; the video
records (title, url, tags …) are shared by every list and come from
:class:`~recomind.serving.video_cards.VideoCards` when a page is rendered. A 100-item list
takes well under 1 KB instead of about 20 KB of whole records.

A list also says until when it is fresh and which invalidation generation of its user it
was computed at: a list past its freshness, or one whose user's generation has moved since
(``ListInvalidation.stale``), is served ``stale`` while it is refreshed. No key besides the
list and the generation is needed for that.

Layout: the magic ``b"RL\x02"``, then zlib-compressed (little-endian):

* ``f64`` fresh until (unix time; ``inf``: while the key lives), ``u8`` length and the
  generation's bytes (length 255: none), ``u8`` length and the list's source (what ranked
  it: ``trending``, ``tag-affinity``, ``model:{version}`` — the served-list log records it);
* ``u16`` items, ``u16`` distinct reasons;
* ``u32`` length, then the ids joined by ``\n`` (ids never hold one: ``schemas.ID_PATTERN``);
* ``u32`` length, then the distinct reason texts as a JSON array;
* a ``float32`` score per item;
* a reason code per item: ``u8`` (``u16`` when there are more than 255 distinct reasons);
* optionally, ``u8`` length and the list's experiment tag (``<experiment>:<variant>``,
  ``shipped:<experiment>``; absent: none — lists cached before experiments decode as such).

Scores keep float32 precision; a page shows each with 6 significant digits (``%.6g``: a
whole number without ``.0``), on a cache hit and on a miss alike (a miss renders through
this form too).
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import orjson

MAGIC = b"RL\x02"
_FRESH = struct.Struct("<dB")
_HEAD = struct.Struct("<HH")
_LEN = struct.Struct("<I")
_NO_GENERATION = 255


@dataclass(frozen=True, slots=True)
class CompactList:
    """A decoded list: parallel ``ids`` and ``scores``, each item's reason code into
    ``reasons`` (the distinct texts), and the list's freshness and generation."""

    ids: list[str]
    scores: Sequence[float]
    codes: Sequence[int]
    reasons: list[str]
    fresh_until: float = math.inf
    generation: bytes | None = None
    source: str = ""
    #: The experiment arm the list was computed for (``serving.experiments.Arm.tag``).
    tag: str = ""

    def page(
        self, n: int, exclude: AbstractSet[str], hidden: AbstractSet[str] = frozenset()
    ) -> list[int] | None:
        """Positions of the first ``n`` items in neither ``exclude`` nor ``hidden`` (taken
        down: two sets, so neither is copied per request); ``None`` when excluding left
        fewer than ``min(n, len)`` (the list is too short now: compute a new one)."""
        if not exclude and not hidden:
            return list(range(min(n, len(self.ids))))
        kept = [i for i, v in enumerate(self.ids) if v not in exclude and v not in hidden]
        if len(kept) < min(n, len(self.ids)):
            return None
        return kept[:n]

    def fresh(self, now: float, generation: bytes | None) -> bool:
        """Whether the list is fresh at unix time ``now`` for its user's ``generation``."""
        return now < self.fresh_until and generation == self.generation


def encode(
    items: Sequence[tuple[str, float, str]],
    *,
    fresh_until: float = math.inf,
    generation: bytes | None = None,
    source: str = "",
    tag: str = "",
) -> bytes:
    """``(video_id, score, reason)`` items, best first, as compact bytes."""
    if generation is not None and len(generation) >= _NO_GENERATION:
        raise ValueError("a generation is a short counter")
    named = source.encode()[:255]
    tagged = tag.encode()[:255]
    table: dict[str, int] = {}
    codes = [table.setdefault(reason, len(table)) for _, _, reason in items]
    ids = "\n".join(v for v, _, _ in items).encode()
    reasons = orjson.dumps(list(table))
    scores = array("f", [_float32(s) for _, s, _ in items]).tobytes()
    packed = array("B" if len(table) <= 255 else "H", codes).tobytes()
    payload = b"".join(
        (
            _FRESH.pack(fresh_until, _NO_GENERATION if generation is None else len(generation)),
            generation or b"",
            bytes((len(named),)),
            named,
            _HEAD.pack(len(items), len(table)),
            _LEN.pack(len(ids)),
            ids,
            _LEN.pack(len(reasons)),
            reasons,
            scores,
            packed,
            bytes((len(tagged),)) + tagged if tagged else b"",
        )
    )
    return MAGIC + zlib.compress(payload, 6)


#: The largest finite float32.
FLOAT32_MAX = 3.4028234663852886e38


def _float32(score: float) -> float:
    """A score float32 can hold and JSON can show: NaN counts as 0, and a score beyond the
    float32 range (an overflowing row) as the nearest finite one."""
    if score != score:
        return 0.0
    return max(-FLOAT32_MAX, min(FLOAT32_MAX, score))


def decode(raw: bytes) -> CompactList | None:
    """The list in ``raw``; ``None`` for bytes in another form (a list cached by an older
    version: the caller treats it as a miss)."""
    if not raw.startswith(MAGIC):
        return None
    try:
        payload = zlib.decompress(raw[len(MAGIC) :])
        fresh_until, size = _FRESH.unpack_from(payload, 0)
        at = _FRESH.size
        generation = None
        if size != _NO_GENERATION:
            generation = payload[at : at + size]
            at += size
        size = payload[at]
        source = payload[at + 1 : at + 1 + size].decode(errors="replace")
        at += 1 + size
        n, n_reasons = _HEAD.unpack_from(payload, at)
        at += _HEAD.size
        (size,) = _LEN.unpack_from(payload, at)
        at += _LEN.size
        ids = payload[at : at + size].decode().split("\n") if n else []
        at += size
        (size,) = _LEN.unpack_from(payload, at)
        at += _LEN.size
        reasons = orjson.loads(payload[at : at + size])
        at += size
        scores = array("f", payload[at : at + 4 * n])
        at += 4 * n
        wide = n_reasons > 255
        codes = array("H" if wide else "B", payload[at : at + (2 if wide else 1) * n])
        at += (2 if wide else 1) * n
        tag = ""
        if at < len(payload):
            tag = payload[at + 1 : at + 1 + payload[at]].decode(errors="replace")
    except (struct.error, ValueError, IndexError, zlib.error, orjson.JSONDecodeError):
        return None
    if len(ids) != n or len(scores) != n or len(codes) != n or len(reasons) != n_reasons:
        return None
    if n and max(codes) >= n_reasons:
        return None
    return CompactList(ids, scores, codes, reasons, fresh_until, generation, source, tag)


def render(listed: CompactList, positions: Sequence[int], cards: Mapping[str, bytes]) -> bytes:
    """The JSON array of a page: each item's card (its video record as a JSON object, open:
    without the closing brace) followed by ``score`` and ``reason``. Items without a card
    (a video deleted since the list was computed) are left out."""
    ids, scores, codes, reasons = listed.ids, listed.scores, listed.codes, listed.reasons
    tails: dict[int, bytes] = {}
    parts: list[bytes] = []
    for i in positions:
        card = cards.get(ids[i])
        if card is None:
            continue
        code = codes[i]
        tail = tails.get(code)
        if tail is None:
            tail = tails[code] = b',"reason":' + orjson.dumps(reasons[code]) + b"}"
        parts.append(b'%s,"score":%.6g%s' % (card, scores[i], tail))
    return b"[" + b",".join(parts) + b"]"
