"""An in-memory cache of the deterministic head of a data pipeline.

Loading and resizing an image gives the same pixels every epoch; JPEG
decoding is the largest part of the data cost of a short CPU run.
:class:`CachedTransforms` runs those transforms once per image and replays
their output (a copy, so later in-place augmentations cannot touch the cache);
:func:`cache_pipeline` wraps the leading deterministic steps of a pipeline
config in it.
"""
import copy
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmpretrain.registry import TRANSFORMS

#: Transforms whose output depends on the input sample only (no random draw).
DETERMINISTIC = ('LoadImageFromFile', 'CheckedLoadImageFromFile', 'Resize', 'ResizeEdge',
                 'CenterCrop')
#: Steps that must begin a cached head (the key is the file they read).
LOADERS = ('LoadImageFromFile', 'CheckedLoadImageFromFile')


def _type_name(step: dict) -> str:
    return str(step.get('type', '')).split('.')[-1]


def cache_pipeline(pipeline: Sequence[dict], max_bytes: int = 2 ** 30) -> List[dict]:
    """Wrap the leading deterministic steps of ``pipeline`` in one
    :class:`CachedTransforms`.

    The head is cached only if it starts with an image loader and every step
    of it is in :data:`DETERMINISTIC`; a random step (flip, RandAugment, a
    random crop) ends it. A pipeline already cached, or without such a head,
    is returned unchanged (as a copy).

    Args:
        pipeline (Sequence[dict]): Transform configs.
        max_bytes (int): Memory limit of the cache (per process).

    Returns:
        list[dict]: The new pipeline.
    """
    steps = [copy.deepcopy(dict(s)) for s in pipeline]
    if not steps or _type_name(steps[0]) not in LOADERS or steps[0].get('backend_args'):
        return steps
    n = 0
    while n < len(steps) and _type_name(steps[n]) in DETERMINISTIC:
        n += 1
    return [dict(type='CachedTransforms', transforms=steps[:n], max_bytes=max_bytes)] + steps[n:]


def _nbytes(values: Dict) -> int:
    return sum(v.nbytes for v in values.values() if isinstance(v, np.ndarray))


@TRANSFORMS.register_module()
class CachedTransforms(BaseTransform):
    """Run deterministic transforms once per image file and replay their output.

    The key is the sample's ``img_path`` with the file's size and
    modification time. On a hit, the keys the transforms added or replaced
    are copied into the sample (arrays as copies): the output equals what
    the transforms give, pixel for pixel. A transform that returns None (a
    corrupt image skipped) is not cached. When the cache holds ``max_bytes``
    of arrays, further images are transformed without being cached. Each
    process (dataloader worker) has its own cache.

    Args:
        transforms (Sequence[dict]): Deterministic transforms, the first one
            reading ``img_path`` (see :func:`cache_pipeline`).
        max_bytes (int): Memory limit of the cached arrays. Defaults to 1 GiB.
    """

    def __init__(self, transforms: Sequence[dict], max_bytes: int = 2 ** 30):
        self.transforms = Compose([TRANSFORMS.build(t) if isinstance(t, dict) else t
                                   for t in transforms])
        self.max_bytes = int(max_bytes)
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        self._cache: Dict[tuple, Dict] = {}

    @staticmethod
    def _key(results: dict) -> Optional[tuple]:
        path = results.get('img_path')
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:  # not a local file: let the loader report it
            return None
        return (str(path), st.st_size, st.st_mtime_ns)

    def transform(self, results: dict) -> Optional[dict]:
        key = self._key(results)
        stored = self._cache.get(key) if key is not None else None
        if stored is not None:
            self.hits += 1
            results = dict(results)
            results.update(copy.deepcopy(stored))
            return results
        self.misses += 1
        before = dict(results)
        out = self.transforms(results)
        if out is None or key is None:
            return out
        changed = {k: v for k, v in out.items() if k not in before or v is not before[k]}
        size = _nbytes(changed)
        if self.nbytes + size <= self.max_bytes:
            self._cache[key] = copy.deepcopy(changed)
            self.nbytes += size
        return out

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(transforms={self.transforms!r}, '
                f'max_bytes={self.max_bytes})')
