"""The mAP of a random ranking: the floor a trained model must clear.

For a class with ``R`` positives among ``N`` images, the expected
non-interpolated AP of a uniformly random ranking is (Bestgen 2015, "Exact
expected average precision of the random baseline for system evaluation",
https://doi.org/10.1515/pralin-2015-0007)

.. math::

    E[AP] = \\frac{H_N}{N} + \\frac{(R - 1)(N - H_N)}{N (N - 1)},

with :math:`H_N` the N-th harmonic number; for large ``N`` it tends to the
positive rate ``R / N``. On small evaluation sets it is well above the
positive rate (one positive among 42 images: 10.3 against 2.4).
"""
import numpy as np


def expected_random_ap(num_pos: np.ndarray, num: int) -> np.ndarray:
    """Expected AP (in [0, 1]) of a random ranking of ``num`` images.

    Args:
        num_pos (np.ndarray): Positives per class, ``R``.
        num (int): Ranked images, ``N`` (``>= 1``).

    Returns:
        np.ndarray: Per-class expected AP; NaN where a class has no positive.
    """
    num_pos = np.asarray(num_pos, dtype=np.float64)
    if num < 1:
        raise ValueError(f'expected_random_ap: num={num} must be >= 1')
    harmonic = np.sum(1.0 / np.arange(1, num + 1))
    pairs = (num_pos - 1) * (num - harmonic) / (num * (num - 1)) if num > 1 else 0.0
    return np.where(num_pos > 0, harmonic / num + pairs, np.nan)


def chance_map(labels: np.ndarray, empty_class: str = 'exclude') -> float:
    """mAP (x100) of a random ranking of the images, class by class.

    Args:
        labels (np.ndarray): ``[N, K]`` targets: 1 positive, 0 negative, -1
            ignored (ignored entries are not ranked for their class).
        empty_class (str): Classes without a positive: ``'exclude'`` leaves
            them out of the mean, ``'zero'`` counts them as AP 0, as
            ``MultiLabelSuite``'s rule of the same name. Defaults to
            ``'exclude'``.

    Returns:
        float: The chance level of the mAP that ``MultiLabelSuite`` reports
        on these labels with that rule.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or labels.shape[0] == 0:
        raise ValueError(f'chance_map: labels must be [N, K] with N > 0, got {labels.shape}')
    if empty_class not in ('exclude', 'zero'):
        raise ValueError(f"chance_map: empty_class={empty_class!r} not in ('exclude', 'zero')")
    aps = np.array([expected_random_ap(np.sum(col == 1), max(int(np.sum(col >= 0)), 1))
                    for col in labels.T])
    if empty_class == 'zero':
        return float(np.nan_to_num(aps).mean() * 100)
    if np.isnan(aps).all():
        raise ValueError('chance_map: no class has a positive label')
    return float(np.nanmean(aps) * 100)
