"""Cross-validation splits of a dataset's indices."""
from typing import List, Tuple

import numpy as np


def kfold_indices(num: int, folds: int, seed: int = 0) -> List[Tuple[List[int], List[int]]]:
    """``folds`` (train, held-out) index splits of ``range(num)``.

    The indices are shuffled once with ``seed``, then cut into ``folds``
    nearly equal held-out parts; each image is held out exactly once.

    Args:
        num (int): Number of samples.
        folds (int): Number of folds, ``2 <= folds <= num``.
        seed (int): Seed of the shuffle. Defaults to 0.

    Returns:
        list[tuple[list[int], list[int]]]: Sorted train and held-out indices
        of each fold.
    """
    if not (isinstance(folds, int) and 2 <= folds <= num):
        raise ValueError(f'kfold_indices: folds={folds!r} must be an int in [2, num={num}]')
    order = np.random.default_rng(seed).permutation(num)
    parts = np.array_split(order, folds)
    return [(sorted(int(i) for j, p in enumerate(parts) if j != k for i in p),
             sorted(int(i) for i in parts[k])) for k in range(folds)]
