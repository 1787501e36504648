"""Per-class decision thresholds: one value, a list, or a JSON file.

A thresholds file maps class names to thresholds in class order, as written
by ``tools/tune_thresholds.py``::

    {"person": 0.42, "bicycle": 0.61, ...}
"""
import json
from typing import Dict, List, Optional, Sequence, Union

Thresholds = Union[float, Sequence[float], str]


def save_thresholds(path: str, classes: Sequence[str],
                    thresholds: Sequence[float]) -> None:
    """Write ``{class name: threshold}`` in class order."""
    if len(classes) != len(thresholds):
        raise ValueError(f'{len(classes)} classes but {len(thresholds)} '
                         'thresholds')
    with open(path, 'w') as f:
        json.dump({c: float(t) for c, t in zip(classes, thresholds)}, f,
                  indent=2)


def load_thresholds(thr: Thresholds,
                    num_classes: Optional[int] = None,
                    classes: Optional[Sequence[str]] = None
                    ) -> Union[float, List[float]]:
    """Resolve ``thr`` to one float or a list of per-class floats.

    Args:
        thr: A number, a sequence of per-class numbers, or the path of a
            thresholds JSON file (class name -> threshold).
        num_classes: If given, a list must have exactly this length.
        classes: If given, a file must name exactly these classes; values are
            returned in this order.

    Raises:
        ValueError: The file or list does not match the classes, or a value
            is not a finite number in [0, 1].
    """
    source = 'thr'
    if isinstance(thr, str):
        source = thr
        try:
            with open(thr) as f:
                mapping: Dict[str, float] = json.load(f)
        except (OSError, ValueError) as e:
            raise ValueError(f'Cannot read thresholds file {thr}: {e}') from e
        if not isinstance(mapping, dict):
            raise ValueError(f'Thresholds file {thr} must hold a JSON object '
                             '{class name: threshold}')
        if classes is not None:
            unknown = sorted(set(mapping) - set(classes))
            missing = [c for c in classes if c not in mapping]
            if unknown or missing:
                raise ValueError(
                    f'Thresholds file {thr} does not match the classes: '
                    f'unknown {unknown[:5]}, missing {missing[:5]}')
            values = [mapping[c] for c in classes]
        else:
            values = list(mapping.values())
    elif isinstance(thr, (int, float)):
        values = float(thr)
    else:
        values = [float(v) for v in thr]
    checked = [values] if isinstance(values, float) else values
    for i, v in enumerate(checked):
        if not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
            raise ValueError(f'{source}: threshold #{i} = {v!r} is not a '
                             'number in [0, 1]')
    if isinstance(values, list) and num_classes is not None \
            and len(values) != num_classes:
        raise ValueError(f'{source}: {len(values)} thresholds for '
                         f'{num_classes} classes')
    return values if isinstance(values, float) else [float(v) for v in values]
