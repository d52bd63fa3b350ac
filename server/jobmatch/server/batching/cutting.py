"""Where to cut length-sorted inputs into forward passes: least estimated cost, within the limits.

A forward pass costs about `overhead + padded tokens` (rows x longest row), the overhead being
the work that does not grow with the batch (on a CPU mostly streaming the weights through the
caches). One big batch of short texts pays for padding every row to the longest; many small ones
pay the overhead many times. `plan_batches` picks the cuts that minimise the sum (dynamic
programming, linear in the inputs while lengths repeat, as short texts' do).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


def plan_batches(lengths: Sequence[int], max_size: int, max_tokens: int, overhead_tokens: float) -> list[int]:
    """End index of each batch over `lengths` (non-decreasing), the last being len(lengths).

    Every batch has at most `max_size` rows and at most `max_tokens` padded tokens (a single row
    longer than that goes alone). Among such cuts, returns one of least estimated cost,
    `batches x overhead_tokens + padded tokens`; with a huge overhead that is the fewest batches.
    """
    n = len(lengths)
    # best[j]: least cost of the first j inputs, a batch [i, j) costing overhead + (j - i) x L,
    # L = lengths[j - 1]: best[j] = overhead + j x L + min(best[i] - i x L) over the starts i in
    # reach. While L stays the same the reach slides right, so `starts` keeps the candidates of
    # that minimum in order (a sliding-window minimum), rebuilt only when L changes.
    best = [0.0] * (n + 1)
    back = [0] * (n + 1)
    starts: deque[int] = deque()
    longest = -1
    for j in range(1, n + 1):
        farthest = max(0, j - max(1, min(max_size, max_tokens // max(lengths[j - 1], 1))))
        if lengths[j - 1] != longest:
            longest = lengths[j - 1]
            starts.clear()
            candidates = range(farthest, j)
        else:
            candidates = range(j - 1, j)
        for i in candidates:
            value = best[i] - i * longest
            while starts and best[starts[-1]] - starts[-1] * longest > value:
                starts.pop()  # ties keep the earlier start: fewer, longer batches
            starts.append(i)
        while starts[0] < farthest:
            starts.popleft()
        i = starts[0]
        best[j] = best[i] + overhead_tokens + (j - i) * longest
        back[j] = i
    cuts: list[int] = []
    j = n
    while j:
        cuts.append(j)
        j = back[j]
    return cuts[::-1]


# The overhead on a CPU: encoding rounds of 64 random ESCO titles with all-MiniLM (2 torch threads),
# every value from 30 to 128 gave 1.3-1.6x the texts per CPU second of one batch per round, 10-16
# somewhat less (benchmarks/README.md). Timing it per model at start-up was tried: seconds of
# work, and on a busy machine anywhere from 0 to 75.
CPU_OVERHEAD_TOKENS = 64.0
