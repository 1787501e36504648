"""Image-derived node features for labels without usable names.

Prokofiev & Sovrasov (2022, Sec. 3.3 and 7) leave Visual Genome 500 without a
graph branch because its labels have no meaningful names, and suggest
building label representations from images instead. A class prototype here
is the mean backbone feature (global-average-pooled last feature map) of the
training images labelled with that class.
"""
from typing import Callable, Optional, Sequence, Tuple

import numpy as np
import torch


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


def pooled_backbone_features(model: torch.nn.Module) -> Callable:
    """A function ``data_batch -> [B, D]`` features of an MMPretrain
    classifier: its data preprocessor, backbone, then GAP of the last map."""

    def fn(batch: dict) -> torch.Tensor:
        data = model.data_preprocessor(batch, False)
        feats = model.extract_feat(data['inputs'], stage='backbone')
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        return x.mean(dim=(2, 3)) if x.dim() == 4 else x.flatten(1)

    return fn


@torch.no_grad()
def extract_features(feature_fn: Callable, dataset, batch_size: int = 16,
                     num_workers: int = 0) -> Tuple[np.ndarray, list]:
    """Run ``feature_fn`` over a dataset in order.

    Args:
        feature_fn (Callable): ``data_batch -> [B, D]`` tensor.
        dataset: An MMPretrain dataset whose pipeline packs inputs (a test
            pipeline: no augmentation).
        batch_size (int): Images per batch.
        num_workers (int): Data-loader workers.

    Returns:
        tuple: ``[N, D]`` features and the N label lists (``gt_label``) of the
        same images, in dataset order.
    """
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False,
                        num_workers=num_workers, collate_fn=pseudo_collate)
    feats, labels = [], []
    for batch in loader:
        feats.append(feature_fn(batch).float().cpu().numpy())
        for sample in batch['data_samples']:
            labels.append(sample.gt_label.tolist())
    return np.concatenate(feats), labels


def prototypes_from_checkpoint(config, checkpoint: Optional[str], dataset_cfg,
                               classes: Sequence[str], device: str = 'cpu',
                               batch_size: int = 16, normalize: bool = False
                               ) -> Tuple[np.ndarray, dict]:
    """Class prototypes from a trained model.

    Args:
        config: Config (path or :class:`mmengine.Config`) of an MMPretrain
            classifier; its ``model`` is built and its test (else val)
            pipeline loads the images.
        checkpoint (str, optional): Weights to load (``None``: the
            initialisation of ``config``, e.g. ImageNet weights).
        dataset_cfg (dict): The training dataset config (its pipeline is
            replaced by the test pipeline).
        classes (Sequence[str]): Class names in label order.
        device (str): Device to run on.
        batch_size (int): Images per batch.
        normalize (bool): L2-normalise image features before averaging.

    Returns:
        tuple: ``[K, D]`` prototypes and a provenance report.
    """
    import copy

    from mmengine.config import Config
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import DATASETS, MODELS

    from .label_graph import labels_to_multihot
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    model = MODELS.build(copy.deepcopy(cfg.model))
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        model.init_weights()
    model.to(device).eval()
    loader_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader_cfg:
        raise ValueError('prototype config needs a test_dataloader or '
                         'val_dataloader (for its no-augmentation pipeline)')
    ds_cfg = copy.deepcopy(dataset_cfg)
    ds_cfg['pipeline'] = copy.deepcopy(loader_cfg['dataset']['pipeline'])
    dataset = DATASETS.build(ds_cfg)
    feats, labels = extract_features(pooled_backbone_features(model), dataset,
                                     batch_size)
    protos = class_prototypes(feats, labels_to_multihot(labels, len(classes)),
                              classes, normalize)
    report = dict(kind='prototypes', checkpoint=checkpoint,
                  config=getattr(cfg, 'filename', None), dim=protos.shape[1],
                  images=len(labels), normalize=normalize)
    return protos, report
