"""Image-derived node features for labels without usable names.

Prokofiev & Sovrasov (2022, Sec. 3.3 and 7) leave Visual Genome 500 without a
graph branch because its labels have no meaningful names, and suggest
building label representations from images instead. A class prototype here
is the mean backbone feature (global-average-pooled last feature map) of the
training images labelled with that class.

This module averages given features; running a model over the training
images to get them is :func:`mmpretrain_multilabel.apis.prototypes_from_checkpoint`
(a layer above the models).
"""
from typing import Optional, Sequence

import numpy as np


def class_prototypes(features: np.ndarray, multihot: np.ndarray,
                     classes: Optional[Sequence[str]] = None,
                     normalize: bool = False) -> np.ndarray:
    """Mean feature of the images of each class.

    Args:
        features (np.ndarray): ``[N, D]`` one feature per image.
        multihot (np.ndarray): ``[N, K]`` boolean labels of the same images.
        classes (Sequence[str], optional): Names for error messages.
        normalize (bool): L2-normalise each image feature before averaging.

    Returns:
        np.ndarray: ``[K, D]`` float32 prototypes.

    Raises:
        ValueError: On mismatched sizes, non-finite features or classes
            without images (named).
    """
    feats = np.asarray(features, dtype=np.float64)
    y = np.asarray(multihot, dtype=bool)
    if feats.ndim != 2 or y.ndim != 2 or feats.shape[0] != y.shape[0]:
        raise ValueError(f'features {feats.shape} and labels {y.shape} must '
                         'be [N, D] and [N, K] for the same N images')
    if not np.isfinite(feats).all():
        rows = np.flatnonzero(~np.isfinite(feats).all(1))
        raise ValueError(f'{rows.size} image feature(s) are NaN/inf (first '
                         f'images: {rows[:5].tolist()}); check the checkpoint')
    if normalize:
        feats = feats / np.maximum(
            np.linalg.norm(feats, axis=1, keepdims=True), 1e-12)
    counts = y.sum(0)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        names = [classes[i] if classes else str(i) for i in empty]
        raise ValueError(f'no image for class(es) {names}: cannot build their '
                         'prototypes')
    protos = (y.T.astype(np.float64) @ feats) / counts[:, None]
    return protos.astype(np.float32)
