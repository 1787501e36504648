"""Short train-then-evaluate runs of a config (cross-validation folds,
real-photo checks): trained on given indices for a fixed number of epochs and
evaluated once, on other indices, after training. Nothing is selected on the
evaluated images (no early stopping, no best-epoch pick): the model evaluated
is the one training ends with (the EMA weights where the config keeps an EMA,
as its checkpoint would hold them). :func:`start_model` and :func:`dataset_map`
give the other end: the model as its training starts, and its mAP.

Short runs are made cheaper on CPU by :func:`apply_speedups` (on by default;
docs/benchmarks.md, "Cross-validation speed"): the frozen backbone stages run
once per batch without autograd (SAM's second pass reuses them; exact), as a
copy with the batch norms folded in the ``channels_last`` format (equal up to
float rounding, mAP within the seed spread), and the decoded, resized images
are kept in memory (exact). A config turns any of them off with
``short_run_speedups = dict(<switch>=False)`` (:data:`SPEEDUPS`).
"""
import copy
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.hooks import EMAHook, Hook
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS, HOOKS, MODELS

from ..datasets.image_cache import cache_pipeline
from ..engine.hooks.classifier_transfer_hook import probe_loader
from ..engine.hooks.ema_hook import unwrap_model
from ..evaluation.functional import multilabel_metrics
from ..graph import is_build_spec, labels_to_multihot
from ..models.utils.weight_interpolation import float_state, interpolate_weights_
from .label_graphs import extract_features, graph_owners, prepare_label_graphs
from .launch import build_runner

#: Hooks that pick on the evaluated images or summarise per-epoch evaluation.
SELECTION_HOOKS = ('SmoothedEarlyStoppingHook', 'TrainingSummaryHook')
#: The speed switches of :func:`apply_speedups` and their defaults; a config's
#: ``short_run_speedups`` dict overrides them.
SPEEDUPS = dict(cache_frozen=True, fold_frozen_bn=True, frozen_channels_last=True,
                image_cache=True)
#: Backbones that take the frozen-stage switches.
FROZEN_PREFIX_BACKBONES = ('FreezableTIMMBackbone',)


def speedup_switches(cfg: Config, **overrides: bool) -> Dict[str, bool]:
    """The switches :func:`apply_speedups` uses: :data:`SPEEDUPS`, then the
    config's ``short_run_speedups``, then ``overrides``.

    Raises:
        KeyError: An unknown switch.
    """
    switches = dict(SPEEDUPS)
    for source in (cfg.get('short_run_speedups', None) or {}, overrides):
        unknown = set(source) - set(SPEEDUPS)
        if unknown:
            raise KeyError(f'unknown short-run speed switches {sorted(unknown)}; '
                           f'known: {sorted(SPEEDUPS)}')
        switches.update({k: bool(v) for k, v in source.items()})
    return switches


def apply_speedups(cfg: Config, **overrides: bool) -> Config:
    """Switch on (in place) the CPU speedups of short runs that are measured
    equal (:data:`SPEEDUPS`; docs/benchmarks.md, "Cross-validation speed").

    - ``cache_frozen``, ``fold_frozen_bn``, ``frozen_channels_last``: the
      arguments of the same names of a ``FreezableTIMMBackbone``
      (:mod:`~mmpretrain_multilabel.models.backbones.frozen_prefix`);
      another backbone is left as it is.
    - ``image_cache``: the loading and resizing steps of the train and val
      pipelines are cached in memory
      (:func:`~mmpretrain_multilabel.datasets.image_cache.cache_pipeline`).

    Args:
        cfg (Config): The config.
        **overrides (bool): Switches set by the caller (over the config's).

    Returns:
        Config: ``cfg``.
    """
    switches = speedup_switches(cfg, **overrides)
    backbone = cfg.model.get('backbone', None)
    if backbone is not None and str(backbone.get('type', '')).split('.')[-1] \
            in FROZEN_PREFIX_BACKBONES:
        for key in ('cache_frozen', 'fold_frozen_bn', 'frozen_channels_last'):
            backbone[key] = switches[key]
    if switches['image_cache']:
        for loader in ('train_dataloader', 'val_dataloader'):
            dataset = cfg[loader].dataset
            if 'pipeline' in dataset:
                dataset.pipeline = cache_pipeline(dataset.pipeline)
    return cfg


def short_run_config(cfg: Config, epochs: int, work_dir: str,
                     data_root: Optional[str] = None,
                     train: Optional[Sequence[int]] = None,
                     val: Optional[Sequence[int]] = None,
                     seed: Optional[int] = None,
                     drop_hooks: Iterable[str] = (),
                     speedups: bool = True) -> Config:
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
        speedups (bool): Apply :func:`apply_speedups` (the config's
            ``short_run_speedups`` chooses among them). Defaults to True.

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
    if speedups:
        apply_speedups(cfg)
    return cfg


class StartSnapshotHook(Hook):
    """Keeps the model's floating-point state as training starts (after every
    other hook's ``before_train``: the transferred and fitted classifier)."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        self.state = float_state(unwrap_model(runner.model))


class ValCurveHook(Hook):
    """Keeps the metrics of every validation run during training
    (:func:`val_metrics`), as ``(epoch, metrics)``."""

    priority = 'LOWEST'  # after an EMA hook has evaluated the raw model

    def __init__(self) -> None:
        self.points: List[Tuple[int, Dict[str, float]]] = []
        self.training = False

    def before_train(self, runner) -> None:
        self.training = True

    def after_train(self, runner) -> None:
        self.training = False

    def after_val_epoch(self, runner, metrics: Optional[Dict[str, float]] = None) -> None:
        if self.training:
            self.points.append((runner.epoch, with_origin(runner, metrics or {})))


def train_and_evaluate(cfg: Config, interpolations: Sequence[float] = (),
                       curve: Optional[ValCurveHook] = None) -> Dict[str, float]:
    """Train ``cfg`` and return the final validation metrics; with an EMA,
    those of the EMA model and, as ``<metric>_origin``, of the raw one.

    Args:
        cfg (Config): The config (:func:`short_run_config`).
        interpolations (Sequence[float]): Also evaluate, for each ``alpha``
            here, the weights ``(1 - alpha) * start + alpha * final`` (WiSE-FT,
            :mod:`~mmpretrain_multilabel.models.utils.weight_interpolation`;
            the raw and the EMA model each interpolated with the start), as
            ``interpolated_<alpha>/<metric>``. Defaults to none.
        curve (ValCurveHook, optional): Registered to keep the metrics of the
            validations during training (``cfg.train_cfg.val_interval``).
    """
    runner = build_runner(cfg)
    if curve is not None:
        runner.register_hook(curve)
    snapshot = StartSnapshotHook()
    if interpolations:
        runner.register_hook(snapshot)
    runner.train()
    metrics = val_metrics(runner)
    if interpolations:
        emas = [h.ema_model.module for h in runner.hooks if isinstance(h, EMAHook)]
        models = [unwrap_model(runner.model)] + emas
        finals = [float_state(m) for m in models]
        for alpha in interpolations:
            for model, final in zip(models, finals):
                model.load_state_dict(final, strict=False)
                interpolate_weights_(model, snapshot.state, alpha)
            metrics.update({f'interpolated_{alpha:g}/{k}': v
                            for k, v in val_metrics(runner).items()})
    for handler in MMLogger.get_current_instance().handlers:
        handler.close()
    return metrics


def val_metrics(runner) -> Dict[str, float]:
    """Run ``runner``'s validation; its metrics, with the raw model's as
    ``<metric>_origin`` where an EMA hook evaluates both."""
    return with_origin(runner, runner.val_loop.run())


def with_origin(runner, metrics: Dict[str, float]) -> Dict[str, float]:
    """``metrics`` of the last validation, with the raw model's that an EMA
    hook logged (``<metric>_origin``)."""
    metrics = dict(metrics)
    for key, value in runner.message_hub.log_scalars.items():
        if key.startswith('val/') and key.endswith('_origin'):  # MMPretrain's EMAHook
            metrics[key[len('val/'):]] = value.current()
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
            hook = HOOKS.build(hook)
            loader = None
            if hook.linear_probe:
                loader = probe_loader(cfg) or Runner.build_dataloader(cfg.train_dataloader)
            hook.transfer(model, classes, loader)
    return model.eval()


def save_start(cfg: Config, filename: str) -> str:
    """Save ``cfg``'s model as its training would start (:func:`start_model`:
    the transferred classifier, fitted to the training labels where the
    config's ``ClassifierTransferHook`` says ``linear_probe=True``) as a
    checkpoint that ``tools/test.py`` and ``tools/infer.py`` read; the EMA
    weights, where the config keeps an EMA, are the same. With tens of photos
    this start ranks held-out photos better than the trained models
    (docs/training_strategy.md, "Few photos"); its scores are not calibrated
    at a threshold of 0.5 (tune per-class thresholds for label sets).

    Args:
        cfg (Config): The config (its training dataset gives the classes
            and, for the fit, the labels).
        filename (str): Where to write the checkpoint.

    Returns:
        str: ``filename``.
    """
    from mmengine.runner import save_checkpoint, weights_to_cpu
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    classes = DATASETS.build(cfg.train_dataloader.dataset).metainfo['classes']
    state = weights_to_cpu(start_model(cfg, classes).state_dict())
    ema = {'module.' + k: v for k, v in state.items()}
    ema['steps'] = torch.tensor(0)
    save_checkpoint(dict(state_dict=state, ema_state_dict=ema,
                         meta=dict(epoch=0, iter=0, dataset_meta=dict(classes=classes))),
                    filename)
    return filename


@torch.no_grad()
def dataset_map(model: torch.nn.Module, dataset) -> float:
    """mAP (x100; classes without positives left out) of ``model``'s scores
    (``mode='tensor'``) over a dataset with a test pipeline."""
    scores, labels = extract_features(
        lambda batch: model(**model.data_preprocessor(batch, False), mode='tensor'), dataset)
    targets = labels_to_multihot(labels, len(dataset.metainfo['classes']))
    return float(multilabel_metrics(scores, targets, topk=None, empty_class='exclude')['mAP'])
