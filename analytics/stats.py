"""Small statistics for reports: Wilson intervals and decision-time histograms.

Everything here is pure arithmetic on counts, so reports built from roll-ups and reports
recomputed from raw events agree exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from branching.log.encoding import BASE_MS, EDGES_MS

#: z for a two-sided 95% interval.
Z95 = 1.959963984540054


class ImpossibleCounts(ValueError):
    """Counts no log can hold (more successes than trials, a negative count): the roll-ups or
    pre-aggregated facts they were read from are damaged."""


def wilson(successes: int, trials: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval for ``successes`` out of ``trials`` (95% by default).

    Sound for small samples and for shares near 0 or 1, where the textbook ``p ± z·se``
    interval goes below 0 or above 1. With no trials nothing is known: ``(0.0, 1.0)``.

    >>> wilson(0, 0)
    (0.0, 1.0)
    >>> [round(x, 4) for x in wilson(5, 10)]
    [0.2366, 0.7634]
    >>> [round(x, 4) for x in wilson(0, 10)]
    [0.0, 0.2775]
    >>> [round(x, 4) for x in wilson(10, 10)]
    [0.7225, 1.0]
    >>> [round(x, 4) for x in wilson(600, 1000)]
    [0.5693, 0.6299]
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ImpossibleCounts(f"need 0 <= successes <= trials, got {successes}/{trials}")
    if trials == 0:
        return (0.0, 1.0)
    n = trials
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # Clamp rounding noise so 0/n gives exactly 0 and n/n exactly 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole``, or ``None`` when ``whole`` is 0 (never a division by zero).

    >>> ratio(1, 4), ratio(3, 0)
    (0.25, None)
    """
    return part / whole if whole else None


# --- Decision-time histograms -----------------------------------------------------------------
#
# Buckets are defined by the log (:mod:`branching.log.encoding`); these read them back.


def bucket_bounds(bucket: int) -> tuple[float, float | None]:
    """``(low, high)`` in ms of a bucket; ``high`` is ``None`` for the open-ended last one.

    >>> bucket_bounds(0), bucket_bounds(1), bucket_bounds(5)
    ((0.0, 100.0), (100.0, 119.0), (200.0, 238.0))
    """
    low = 0.0 if bucket == 0 else float(EDGES_MS[bucket - 1])
    high = float(EDGES_MS[bucket]) if bucket < len(EDGES_MS) else None
    return (low, high)


def bucket_value(bucket: int) -> float:
    """The value reported for a bucket: its geometric midpoint (50 ms for the first bucket,
    the lower edge for the open-ended last one).

    Every time in bucket k >= 1 is within a factor 2^(1/8) (about 9%) of this value.

    >>> from branching.log.encoding import NUM_BUCKETS
    >>> bucket_value(0), round(bucket_value(5), 1), bucket_value(NUM_BUCKETS - 1) > 2.4e6
    (50.0, 218.2, True)
    """
    low, high = bucket_bounds(bucket)
    if bucket == 0:
        return BASE_MS / 2
    if high is None:
        return low
    return math.sqrt(low * high)


def histogram_percentile(counts: Sequence[int], q: float) -> float | None:
    """The ``q`` quantile (0 < q <= 1) of a bucketed histogram, by nearest rank.

    The exact nearest-rank quantile is the ``ceil(q·n)``-th smallest time; this returns the
    midpoint of the bucket holding it, so it is within about 9% of the exact value (times of
    100 ms and more). ``None`` when the histogram is empty.

    >>> from branching.log.encoding import NUM_BUCKETS, time_bucket
    >>> h = [0] * NUM_BUCKETS
    >>> h[time_bucket(1000)] += 3; h[time_bucket(4000)] += 1
    >>> round(histogram_percentile(h, 0.5)), round(histogram_percentile(h, 0.9))
    (1037, 4149)
    >>> histogram_percentile([0] * NUM_BUCKETS, 0.5) is None
    True
    """
    if not 0 < q <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {q}")
    total = sum(counts)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for bucket, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return bucket_value(bucket)
    raise AssertionError("unreachable: rank <= total")  # pragma: no cover


def exact_percentile(values: Sequence[float], q: float) -> float | None:
    """The exact nearest-rank ``q`` quantile: the ``ceil(q·n)``-th smallest value.

    >>> exact_percentile([5, 1, 3, 2, 4], 0.5), exact_percentile([1, 2, 3, 4], 0.9)
    (3, 4)
    >>> exact_percentile([], 0.5) is None
    True
    """
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
