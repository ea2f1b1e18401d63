"""Logarithmic histograms, so percentiles survive a daily rollup.

A duration goes into bucket ``floor(log(ms) / log(RATIO))``; a bucket stands for the geometric
middle of its bounds, so a percentile read back from the buckets is within half a bucket
(about 2.5 %) of the exact one. Buckets add up across days and filters, which exact
percentiles do not."""

from __future__ import annotations

import math
from collections.abc import Iterable

RATIO = 1.05
_LOG_RATIO = math.log(RATIO)


def bucket_of(seconds: float) -> int:
    """The bucket a duration falls in (everything under a millisecond in bucket 0)."""
    ms = seconds * 1000.0
    if ms < 1.0:
        return 0
    return int(math.floor(math.log(ms) / _LOG_RATIO)) + 1


def bucket_seconds(bucket: int) -> float:
    """The duration a bucket stands for, in seconds."""
    if bucket <= 0:
        return 0.0
    return (RATIO ** (bucket - 1 + 0.5)) / 1000.0


def percentile(counts: Iterable[tuple[int, int]], fraction: float) -> float | None:
    """The ``fraction`` (0–1) percentile of a histogram given as (bucket, count) pairs, in
    seconds; None when it is empty. Uses the nearest-rank definition."""
    pairs = sorted((bucket, count) for bucket, count in counts if count > 0)
    total = sum(count for _, count in pairs)
    if total == 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket, count in pairs:
        seen += count
        if seen >= rank:
            return bucket_seconds(bucket)
    return bucket_seconds(pairs[-1][0])
