"""Shared helpers of the peer-head tests (Query2Label, ML-GCN): a tiny
backbone classifier and the one-iteration check of a config."""
import copy
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import prepare_label_graphs

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: MMPretrain ResNet-18 shrunk to two stages of 8 / 16 channels (out: 16).
TINY_BACKBONE = dict(type='ResNet', depth=18, stem_channels=8, base_channels=8, num_stages=2,
                     strides=(1, 2), dilations=(1, 1), out_indices=(1, ))


def random_graph(num_classes: int, dim: int = 50, seed: int = 0) -> dict:
    """A random label graph as arrays (FLOPs and shapes do not depend on it)."""
    rng = np.random.RandomState(seed)
    adj = (rng.rand(num_classes, num_classes) < 0.3).astype(np.float32)
    np.fill_diagonal(adj, 0)
    return dict(node_features=rng.randn(num_classes, dim).astype(np.float32), adjacency=adj)


def tiny_classifier(head: dict, neck=None):
    """``ImageClassifier`` with :data:`TINY_BACKBONE` and ``head``."""
    return MODELS.build(dict(type='ImageClassifier', backbone=TINY_BACKBONE, neck=neck,
                             head=head))


def random_batch(num_classes: int, size: int, batch_size: int = 2, seed: int = 0) -> dict:
    """Raw uint8 images and multilabel samples, as a dataloader yields them."""
    g = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=g)
              for _ in range(batch_size)]
    samples = []
    for i in range(batch_size):
        labels = sorted({i % num_classes, (3 * i + 1) % num_classes})
        samples.append(DataSample().set_gt_label(labels))
    return dict(inputs=inputs, data_samples=samples)


def config_one_iteration(config: str, size: int = 64, graph=None, optim: bool = True):
    """Build ``config``'s model (no pretrained weights) and optimizer wrapper
    and run one ``train_step`` on a random batch of ``size`` px images.

    Args:
        config (str): Config path relative to the repository root.
        size (int): Image side.
        graph: Replaces ``model.head.graph`` if given (ML-GCN).
        optim (bool): Use the config's ``optim_wrapper`` (else plain SGD).

    Returns:
        tuple: ``(cfg, model, log_vars)``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small ops: extra threads only add contention
    try:
        return _one_iteration(config, size, graph, optim)
    finally:
        torch.set_num_threads(threads)


def _one_iteration(config, size, graph, optim):
    cfg = Config.fromfile(osp.join(ROOT, config))
    model_cfg = copy.deepcopy(cfg.model)
    model_cfg.backbone.pop('init_cfg', None)
    if model_cfg.get('data_preprocessor') is None:
        model_cfg.data_preprocessor = cfg.get('data_preprocessor')
    if graph is not None:
        model_cfg.head.graph = graph
    cfg.model = model_cfg
    model_cfg = prepare_label_graphs(cfg).model
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
        if optim:
            wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
        else:
            wrapper = build_optim_wrapper(
                model, dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)))
    model.train()
    log_vars = model.train_step(random_batch(model_cfg.head.num_classes, size), wrapper)
    return cfg, model, log_vars


def config_head_loss(config: str, graph=None, size: int = 2) -> tuple:
    """Build only ``config``'s head and compute its training loss on a random
    ``[2, 1280, size, size]`` feature map (the backbone's last stage).

    Returns:
        tuple: ``(cfg, head, loss)``.
    """
    cfg = Config.fromfile(osp.join(ROOT, config))
    head_cfg = copy.deepcopy(cfg.model.head)
    if graph is not None:
        head_cfg.graph = graph
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        head = MODELS.build(head_cfg)
    head.train()
    k = head_cfg.num_classes
    samples = random_batch(k, 8)['data_samples']
    for s in samples:  # targets as the data preprocessor (to_onehot) makes them
        s.set_gt_score(torch.zeros(k).index_fill_(0, s.gt_label, 1.0))
    losses = head.loss((torch.randn(2, head_cfg.in_channels, size, size), ), samples)
    return cfg, head, sum(losses.values())
