"""Label graphs of a config, built before its model.

A graph branch (``GATReweightNeck``, ``MLGCNHead``) takes a built graph or a
build spec, ``graph=dict(dataset=<training dataset cfg or annotation
file>, word_vectors='glove-6b-50d', t=0.4, p=0.25, ...)``, which it builds
itself while the model is built
(:func:`mmpretrain_multilabel.graph.resolve_graph_spec`): MMPretrain's stock
tools, ``mim train`` and ``get_model`` need no graph step.
:func:`prepare_label_graphs` does the same ahead of the model: it reads the
training labels, computes the node features (word vectors, or image
prototypes of a trained model, which only it can build, which is why it sits
above the models), caches the graph as an ``.npz``
(:func:`mmpretrain_multilabel.graph.build_graph_file`) and writes the file's
path into the config (so the config saved in the work dir names the file).
``tools/train.py``, ``test.py``, ``infer.py``, ``tune_thresholds.py``,
``deployment/export.py`` and the benchmarks call it (through
:func:`~.launch.build_runner` or :func:`~.launch.load_config`) before the
model is built.

Image prototypes (Prokofiev & Sovrasov 2022, Sec. 3.3 and 7,
https://arxiv.org/abs/2209.06585): node features for labels without usable
names, the mean backbone feature of each class's training images
(:func:`prototypes_from_checkpoint`).
"""
import copy
from typing import Any, Callable, Iterator, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.config import Config

from ..graph import (
    class_prototypes,
    labels_to_multihot,
    random_label_graph,
    resolve_graph_spec,
)


def graph_owners(node: Any) -> Iterator[dict]:
    """Every dict under ``node`` (a model config) that has a ``graph`` key,
    depth first (neck, head, a TTA wrapper's ``module``, ...)."""
    if isinstance(node, dict):
        if 'graph' in node:
            yield node
        for value in node.values():
            yield from graph_owners(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from graph_owners(value)


def prepare_label_graphs(cfg: Config, logger=None) -> Config:
    """Build the label graph of every build spec in ``cfg.model`` (in place).

    Each ``graph=dict(dataset=..., ...)`` (arguments of
    :func:`~mmpretrain_multilabel.graph.build_graph_file`; image prototypes
    with ``word_vectors='prototypes'``) is built, or found in the cache, and
    replaced by the path of its ``.npz`` file; graphs given as files or
    arrays are left as they are, so calling it twice is harmless.

    Args:
        cfg (Config): A config with a ``model``.
        logger: MMEngine logger for a line per graph (default: the current
            one).

    Returns:
        Config: ``cfg``.
    """
    for owner in graph_owners(cfg.get('model')):
        owner['graph'] = resolve_graph_spec(owner['graph'], logger=logger,
                                            prototype_fn=prototypes_from_checkpoint)
    return cfg


def use_random_label_graphs(model_cfg: dict, num_classes: int) -> dict:
    """Put a random graph in place of every ``graph`` of a model config
    (in place): for what does not depend on the graph's values (counting
    FLOPs, timing, exporting untrained models), without reading a dataset.
    """
    for owner in graph_owners(model_cfg):
        owner['graph'] = random_label_graph(num_classes)
    return model_cfg


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
    from mmengine.runner import load_checkpoint
    from mmpretrain.registry import DATASETS, MODELS

    cfg = Config.fromfile(config) if isinstance(config, str) else config
    prepare_label_graphs(cfg)
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
