"""Refuse, before the first iteration, configs that would train and evaluate
without an error but report wrong numbers.

:class:`ConfigCheckHook` looks at the built model and datasets in
``before_run`` (before any training, LR range test or evaluation):

- the training, validation and test datasets must have the same class list
  in the same order (label id ``i`` must name the same class in every split);
- the head's (and neck's, data preprocessor's) ``num_classes`` must be the
  datasets' class count;
- a loss that takes cosine scores (``AAMLoss``, also inside ``BatchSumLoss``)
  must sit in a normalised head (the plugin's heads with ``normalized=True``,
  ``MultiLabelCosineClsHead``), not in a head that outputs logits
  (``MultiLabelLinearClsHead``, ``CSRAClsHead``, ...).

- a schedule of fixed length (``total_steps``: MMEngine's ``OneCycleLR``, the
  recipe's ``ScaledOneCycleLR``) must not be shorter than the training
  (``train_cfg.max_epochs``, or ``max_iters``): MMEngine stops such a run
  with an error when the schedule runs out, after its last checkpoint; a
  training shorter than its schedule (the learning rate never anneals) is
  warned about.

When a checkpoint is loaded for evaluation, its classes (``meta.dataset_meta``)
must not be the evaluated dataset's classes in another order.

The shipped schedules (``configs/_base_/schedules/``) include the hook and
the project's tools add it to any config; a config of its own run by
MMPretrain's stock tools gets the checks with
``custom_hooks = [dict(type='ConfigCheckHook'), ...]``.
"""
from typing import Dict, List, Optional, Sequence

from mmengine.hooks import Hook
from mmengine.runner import BaseLoop
from mmpretrain.registry import HOOKS
from torch import nn

from .ema_hook import unwrap_model

#: The runner's loops, by the config field of their dataloader.
SPLITS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


class ConfigCheckError(ValueError):
    """A configuration that would run but give wrong numbers."""


def dataset_classes(dataset) -> Optional[List[str]]:
    """The class names of a built dataset (``metainfo['classes']``; dataset
    wrappers forward it), or None when it has none."""
    classes = getattr(dataset, 'metainfo', {}).get('classes', None)
    return list(classes) if classes else None


def check_split_classes(classes: Dict[str, Optional[Sequence[str]]]) -> None:
    """Raise unless every split with a class list has the same list, in the
    same order.

    Args:
        classes (dict): Split name (e.g. ``'train_dataloader'``) -> its
            dataset's classes, or None (not checked).

    Raises:
        ConfigCheckError: Naming both splits, the differing classes and the fix.
    """
    named = [(name, list(value)) for name, value in classes.items() if value]
    for (ref_name, ref), (name, other) in zip(named, named[1:]):
        if other == ref:
            continue
        if sorted(other) == sorted(ref):
            i = next(i for i, (a, b) in enumerate(zip(ref, other)) if a != b)
            raise ConfigCheckError(
                f'{ref_name}.dataset and {name}.dataset have the same {len(ref)} classes in '
                f'a different order: label id {i} is {ref[i]!r} in one and {other[i]!r} in '
                'the other, so the labels of one split would be scored as other classes. '
                f'Give both datasets the same class list in the same order '
                f'({ref_name}.dataset: {ref[:6]}{"..." if len(ref) > 6 else ""}; '
                f'{name}.dataset: {other[:6]}{"..." if len(other) > 6 else ""}).')
        only_ref = [c for c in ref if c not in other]
        only_other = [c for c in other if c not in ref]
        raise ConfigCheckError(
            f'{ref_name}.dataset has {len(ref)} classes and {name}.dataset has {len(other)}, '
            f'not the same list (only in {ref_name}: {only_ref[:6]}; only in {name}: '
            f'{only_other[:6]}): label ids would name different classes in the two splits. '
            'Give both datasets the same class list in the same order.')


def check_num_classes(model: nn.Module, classes: Sequence[str], split: str) -> None:
    """Raise unless the model's ``num_classes`` (head, neck, data
    preprocessor, where they have one) is the dataset's class count.

    Args:
        model (nn.Module): The classifier (unwrapped).
        classes (Sequence[str]): The dataset's classes.
        split (str): The dataloader field named in the message.

    Raises:
        ConfigCheckError: Naming the module, its value, the count and the fix.
    """
    for part in ('head', 'neck', 'data_preprocessor'):
        module = getattr(model, part, None)
        value = getattr(module, 'num_classes', None)
        if isinstance(value, int) and value != len(classes):
            raise ConfigCheckError(
                f'model.{part} ({type(module).__name__}) has num_classes={value} but '
                f'{split}.dataset has {len(classes)} classes: scores and metrics would be '
                f'computed over {value} classes. Set num_classes={len(classes)} in model.head '
                '(and in model.neck and data_preprocessor where they have it), or give the '
                f'dataset the {value} classes the model was built for.')


def check_cosine_losses(model: nn.Module) -> None:
    """Raise if a loss that takes cosine scores (``expects_cosine``, e.g.
    ``AAMLoss``) is the loss of a head that outputs logits.

    Args:
        model (nn.Module): The classifier (unwrapped).

    Raises:
        ConfigCheckError: Naming the head, the loss and the fix.
    """
    for name, module in model.named_modules():
        loss = getattr(module, 'loss_module', None)
        if (isinstance(loss, nn.Module) and getattr(loss, 'expects_cosine', False)
                and not getattr(module, 'normalized', False)):
            inner = getattr(loss, 'loss', loss)
            raise ConfigCheckError(
                f'model.{name} ({type(module).__name__}) outputs logits but its loss '
                f'{type(inner).__name__} takes cosine scores in [-1, 1] from a normalised '
                "head. Use head type='MultiLabelCosineClsHead' (pooled features), or "
                'MLDecoderHead / Query2LabelHead / MLGCNHead with normalized=True; or keep '
                "this head with a logit loss such as dict(type='AsymmetricLoss').")


def check_checkpoint_classes(checkpoint: dict, classes: Sequence[str], split: str) -> None:
    """Raise if a checkpoint's classes are the dataset's in another order.

    Args:
        checkpoint (dict): The loaded checkpoint (``meta.dataset_meta.classes``
            is read where present).
        classes (Sequence[str]): The evaluated dataset's classes.
        split (str): The dataloader field named in the message.

    Raises:
        ConfigCheckError: Naming the first differing id and the fix.
    """
    meta = (checkpoint.get('meta') or {}).get('dataset_meta') or {}
    saved = meta.get('classes')
    if not saved:
        return
    saved = list(saved)
    if saved != list(classes) and sorted(saved) == sorted(classes):
        i = next(i for i, (a, b) in enumerate(zip(saved, classes)) if a != b)
        raise ConfigCheckError(
            f'the checkpoint was trained on the same {len(saved)} classes as {split}.dataset '
            f'in a different order: its class {i} is {saved[i]!r}, the dataset\'s '
            f'{classes[i]!r}. Give the dataset the checkpoint\'s class order '
            '(meta.dataset_meta.classes in the checkpoint).')


def check_schedule_length(schedulers, train_cfg: dict) -> Optional[str]:
    """Raise if a fixed-length scheduler config (``total_steps``) ends before
    the training does; returns a warning when it ends after it.

    Args:
        schedulers: The config's ``param_scheduler`` (a dict or a list).
        train_cfg (dict): The config's ``train_cfg``.
    """
    schedulers = schedulers if isinstance(schedulers, (list, tuple)) else [schedulers]
    for scheduler in schedulers:
        if not scheduler or scheduler.get('total_steps') is None:
            continue
        unit = 'epochs' if scheduler.get('by_epoch', True) else 'iters'
        length = train_cfg.get(f'max_{unit}')
        if length is None:
            continue
        steps, want = scheduler['total_steps'], length - scheduler.get('begin', 0)
        name = scheduler.get('type', 'the scheduler')
        fix = (f'Set param_scheduler.total_steps={want} with train_cfg.max_{unit}={length} '
               f'(e.g. --cfg-options train_cfg.max_{unit}={length} '
               f'param_scheduler.total_steps={want}).')
        if steps < want:
            raise ConfigCheckError(
                f'param_scheduler ({name}) has total_steps={steps} ({unit}) but '
                f'train_cfg.max_{unit}={length}: the schedule has a fixed length, so training '
                f'would stop with an error after {unit[:-1]} {length - want + steps}. ' + fix)
        if steps > want:
            return (f'param_scheduler ({name}) has total_steps={steps} '
                    f'({unit}) but train_cfg.max_{unit}={length}: the learning rate will not '
                    f'finish its schedule. ' + fix)
    return None


def built_datasets(runner) -> Dict[str, object]:
    """The datasets of the runner's loops built so far, by dataloader field
    (a loop not built yet, e.g. the training loop of a test run, is left
    out rather than built)."""
    datasets = {}
    for split in SPLITS:
        loop = getattr(runner, '_' + split.replace('dataloader', 'loop'), None)
        if isinstance(loop, BaseLoop):
            datasets[split] = loop.dataloader.dataset
    return datasets


@HOOKS.register_module()
class ConfigCheckHook(Hook):
    """Refuse silent misconfigurations before the run (module docstring).

    Runs first (``VERY_HIGH``) in ``before_run``, when the model and the
    loops' datasets are built and nothing has trained or been evaluated.
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = unwrap_model(runner.model)
        check_cosine_losses(model)
        if isinstance(getattr(runner, '_train_loop', None), BaseLoop):
            warning = check_schedule_length(runner.cfg.get('param_scheduler'),
                                            runner.cfg.get('train_cfg') or {})
            if warning:
                runner.logger.warning(warning)
        classes = {split: dataset_classes(ds) for split, ds in built_datasets(runner).items()}
        check_split_classes(classes)
        for split, names in classes.items():
            if names:
                check_num_classes(model, names, split)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        for split, dataset in built_datasets(runner).items():
            names = dataset_classes(dataset)
            if names:
                check_checkpoint_classes(checkpoint, names, split)
