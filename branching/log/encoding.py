"""How the choice log encodes what it counts: playthrough paths and decision-time buckets.

Both are part of the log's file format: the roll-up tables store path hashes and one column
per decision-time bucket, so changing anything here needs a schema migration and a rebuild.
Pure arithmetic, no SQLite: analytics reads the same definitions back.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_right
from collections.abc import Iterable

#: Prefix of a rewind step in a path: ``↶n5`` means "rewound to n5". Node ids cannot contain it.
REWIND_MARK = "↶"

#: The path hash of an empty path (a playthrough that entered no node yet).
EMPTY_PATH = 0


def path_hash(steps: Iterable[str]) -> int:
    """The identity of a path: a 64-bit hash of its steps, as a signed integer (SQLite INTEGER).

    Equal paths have equal hashes; a collision among a million distinct paths has a probability
    of about 3·10⁻⁸. Steps are joined with a newline, which no node id contains.

    >>> path_hash(["start", "cave"]) == path_hash(["start", "cave"])
    True
    >>> path_hash(["start", "cave"]) == path_hash(["start", "cave", "river"])
    False
    >>> path_hash([]) == EMPTY_PATH
    True
    """
    text = "\n".join(steps)
    if not text:
        return EMPTY_PATH
    digest = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Decision-time histograms.
#
# Reports keep, per node, a count of explicit decisions in fixed log-scale buckets rather than
# every decision time, so percentiles cost the same at ten or ten million decisions.
# Bucket 0 holds times under 100 ms; bucket k >= 1 holds [100·2^((k-1)/4), 100·2^(k/4)) ms,
# four buckets per doubling; the last bucket is open-ended (over about 40 minutes).

#: Buckets per doubling of the decision time.
BUCKETS_PER_DOUBLING = 4
#: Lower edge of bucket 1, in milliseconds.
BASE_MS = 100
#: Number of buckets, including the underflow and the open-ended last one.
NUM_BUCKETS = 62
#: Lower edges (ms) of buckets 1 .. NUM_BUCKETS-1, rounded to whole milliseconds.
EDGES_MS: tuple[int, ...] = tuple(
    round(BASE_MS * 2 ** (k / BUCKETS_PER_DOUBLING)) for k in range(NUM_BUCKETS - 1)
)


def time_bucket(ms: int) -> int:
    """The histogram bucket of a decision time in milliseconds.

    >>> time_bucket(0), time_bucket(99), time_bucket(100), time_bucket(118), time_bucket(119)
    (0, 0, 1, 1, 2)
    >>> time_bucket(10**9) == NUM_BUCKETS - 1
    True
    """
    return bisect_right(EDGES_MS, ms)
