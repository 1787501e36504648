"""Short train-then-evaluate runs of a config (cross-validation folds,
real-photo checks): trained on given indices for a fixed number of epochs and
evaluated once, on other indices, after training. Nothing is selected on the
evaluated images (no early stopping, no best-epoch pick): the model evaluated
is the one training ends with (the EMA weights where the config keeps an EMA,
as its checkpoint would hold them). :func:`start_model` and :func:`dataset_map`
give the other end: the model as its training starts, and its mAP.
"""
import copy
from typing import Dict, Iterable, Optional, Sequence

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmpretrain.registry import HOOKS, MODELS

from ..evaluation.functional import multilabel_metrics
from ..graph import is_build_spec, labels_to_multihot
from .label_graphs import extract_features, graph_owners, prepare_label_graphs
from .launch import build_runner

#: Hooks that pick on the evaluated images or summarise per-epoch evaluation.
SELECTION_HOOKS = ('SmoothedEarlyStoppingHook', 'TrainingSummaryHook')


def short_run_config(cfg: Config, epochs: int, work_dir: str,
                     data_root: Optional[str] = None,
                     train: Optional[Sequence[int]] = None,
                     val: Optional[Sequence[int]] = None,
                     seed: Optional[int] = None,
                     drop_hooks: Iterable[str] = ()) -> Config:
    """Make ``cfg`` (in place) train ``epochs`` epochs and evaluate once.

    Args:
        cfg (Config): The config.
        epochs (int): Training epochs; a OneCycle schedule is sized to them.
        work_dir (str): The run's work directory.
        data_root (str, optional): ``data_root`` of the train and val
            datasets.
        train, val (Sequence[int], optional): ``indices`` of the train and
            val datasets (None: the config's). The label graphs built from the
            training set (``graph=dict(dataset=...)``) count the same images.
        seed (int, optional): Random seed.
        drop_hooks (Iterable[str]): Custom hooks to leave out besides
            :data:`SELECTION_HOOKS`.

    Returns:
        Config: ``cfg``; its test loader is the val loader.
    """
    for loader, indices in (('train_dataloader', train), ('val_dataloader', val)):
        if data_root is not None:
            cfg[loader].dataset.data_root = data_root
        if indices is not None:
            cfg[loader].dataset.indices = [int(i) for i in indices]
    cfg.test_dataloader = cfg.val_dataloader
    for owner in graph_owners(cfg.model):  # label graphs count the training images only
        if is_build_spec(owner['graph']):
            owner['graph']['dataset'] = copy.deepcopy(cfg.train_dataloader.dataset)
    cfg.work_dir = work_dir
    if seed is not None:
        cfg.randomness = dict(seed=seed, deterministic=False)
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs + 1  # evaluated once, after training
    schedulers = cfg.param_scheduler
    for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:
        if 'total_steps' in scheduler:  # OneCycle: its length is fixed when built
            scheduler.total_steps = epochs
    drop = set(drop_hooks) | set(SELECTION_HOOKS)
    cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] not in drop]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=-1, save_last=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1000)
    cfg.log_level = 'WARNING'
    return cfg


def train_and_evaluate(cfg: Config) -> Dict[str, float]:
    """Train ``cfg`` and return the final validation metrics; with an EMA,
    those of the EMA model and, as ``<metric>_origin``, of the raw one."""
    runner = build_runner(cfg)
    runner.train()
    metrics = dict(runner.val_loop.run())
    for key, value in runner.message_hub.log_scalars.items():
        if key.startswith('val/') and key.endswith('_origin'):  # MMPretrain's EMAHook
            metrics[key[len('val/'):]] = value.current()
    for handler in MMLogger.get_current_instance().handlers:
        handler.close()
    return metrics


def start_model(cfg: Config, classes: Sequence[str]) -> torch.nn.Module:
    """``cfg``'s model as its training starts, in eval mode: the weights of its
    ``init_cfg`` (pretrained backbone) and, where ``cfg`` lists a
    ``ClassifierTransferHook``, the classifier it transfers for ``classes``."""
    MMLogger.get_instance(f'start_model_{id(cfg)}')  # not a logger a run has closed
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    prepare_label_graphs(cfg)
    model = MODELS.build(dict(cfg.model, data_preprocessor=cfg.data_preprocessor))
    model.init_weights()
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'ClassifierTransferHook':
            HOOKS.build(hook).transfer(model, classes)
    return model.eval()


@torch.no_grad()
def dataset_map(model: torch.nn.Module, dataset) -> float:
    """mAP (x100; classes without positives left out) of ``model``'s scores
    (``mode='tensor'``) over a dataset with a test pipeline."""
    scores, labels = extract_features(
        lambda batch: model(**model.data_preprocessor(batch, False), mode='tensor'), dataset)
    targets = labels_to_multihot(labels, len(dataset.metainfo['classes']))
    return float(multilabel_metrics(scores, targets, topk=None, empty_class='exclude')['mAP'])
