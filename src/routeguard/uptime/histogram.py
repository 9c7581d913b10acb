"""A sparse, log-spaced TTFT histogram: 48 bins from 10 ms to 60 s.

Bin i holds [LOW_S * GROWTH**i, LOW_S * GROWTH**(i+1)); a percentile is read as
the geometric middle of the bin that holds the nearest-rank sample, so for TTFTs
between 10 ms and 60 s it is within MAX_RELATIVE_ERROR (9.5 %) of the exact
nearest-rank percentile. Faster answers count in the first bin, slower in the last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

BINS = 48
LOW_S, HIGH_S = 0.01, 60.0
GROWTH = (HIGH_S / LOW_S) ** (1 / BINS)
MAX_RELATIVE_ERROR = math.sqrt(GROWTH) - 1
"""Worst relative error of a percentile read from the histogram (about 0.095)."""


def bin_of(ttft_s: float) -> int:
    """The bin a TTFT counts in."""
    if ttft_s <= LOW_S:
        return 0
    return min(BINS - 1, math.floor(math.log(ttft_s / LOW_S) / math.log(GROWTH)))


def value_of(index: int) -> float:
    """The TTFT a bin stands for: the geometric middle of its bounds."""
    return float(LOW_S * GROWTH ** (index + 0.5))


def percentile(bins: Mapping[int, int], q: float) -> float | None:
    """The nearest-rank `q` percentile (0 < q <= 1) of the samples; None without any."""
    total = sum(bins.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= rank:
            return value_of(index)
    return value_of(max(bins))


def exact_percentile(samples: list[float], q: float) -> float:
    """The nearest-rank percentile of raw samples (what the histogram approximates)."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
