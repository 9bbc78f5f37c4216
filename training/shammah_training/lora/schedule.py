"""Weighted sampling: an example of weight w is seen w times as often as one of weight 1.

Each epoch lists every example ``floor(w)`` times, plus once more with probability ``w - floor(w)``
(seeded), in a seeded random order. Every occurrence contributes the same: its loss is the mean over
its own response tokens, so a long answer does not outweigh a short one, and the optimizer sees a
10x correction ten times for each time it sees a 1x one.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence


def weighted_schedule(weights: Sequence[float], epochs: float, seed: int) -> list[int]:
    """Example indices in training order for ``epochs`` (fractional epochs cut the last one short)."""
    if not weights:
        return []
    if epochs <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    rng = random.Random(seed)
    order: list[int] = []
    whole = math.ceil(epochs)
    for _ in range(whole):
        epoch: list[int] = []
        for index, weight in enumerate(weights):
            if weight <= 0:
                raise ValueError(f"weights must be positive, got {weight} for example {index}")
            count = math.floor(weight)
            if rng.random() < weight - count:
                count += 1
            epoch.extend([index] * count)
        rng.shuffle(epoch)
        order.extend(epoch)
    if epochs == whole:
        return order
    wanted = round(sum(weights) * epochs)
    return order[: max(1, min(len(order), wanted))]


def batches(order: Sequence[int], batch_size: int) -> list[list[int]]:
    """Split the schedule into batches of ``batch_size`` (the last one may be smaller)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    return [list(order[i : i + batch_size]) for i in range(0, len(order), batch_size)]
