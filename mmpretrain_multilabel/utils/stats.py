"""Small summary statistics shared by the benchmarks."""
import statistics
from typing import Sequence, Tuple


def quartiles(values: Sequence[float]) -> Tuple[float, float, float]:
    """First quartile, median and third quartile of ``values`` (a single
    value stands for all three)."""
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4)
    return q1, statistics.median(values), q3
