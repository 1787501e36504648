"""``init_cfg=dict(type='Pretrained')`` that says what it loaded and what it skipped.

The paper fine-tunes from backbones pre-trained on OpenImages with an ML-Decoder head
(Prokofiev & Sovrasov 2022, https://arxiv.org/abs/2209.06585, Sec. 4.3): the
backbone is kept and the pre-training head dropped. MMEngine's ``PretrainedInit``
with ``prefix='backbone.'`` already loads only the backbone, but silently: the head
keys it leaves out, model keys the checkpoint lacks and shape mismatches are not
listed together. :class:`ReportingPretrainedInit` loads exactly as MMEngine's does
(``strict=False``; tensors whose shape differs are skipped) and logs one report:
keys loaded (counted per module), checkpoint keys skipped outside the prefix, keys
under the prefix that the model does not have, model keys left at their
initialisation, and shape mismatches. The report is also kept on the module as
``pretrained_report`` (a dict of key lists).

It is registered in MMPretrain's ``WEIGHT_INITIALIZERS`` under MMEngine's name
``Pretrained``, so every config's ``init_cfg=dict(type='Pretrained', ...)`` reports,
and MMEngine still applies it after the children's own initialisation (it recognises
pre-trained initialisers by that name).
"""
from collections import Counter, OrderedDict
from typing import Dict, List, Optional

import torch
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info
from mmengine.runner.checkpoint import _load_checkpoint, load_state_dict
from mmpretrain.registry import WEIGHT_INITIALIZERS


def checkpoint_state_dict(checkpoint: dict) -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint, without a DDP ``module.`` prefix."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise TypeError(f'no state dict in the checkpoint (got {type(checkpoint).__name__})')
    return OrderedDict((k[7:] if k.startswith('module.') else k, v) for k, v in state.items())


def select_weights(model_state: Dict[str, torch.Tensor], source: Dict[str, torch.Tensor],
                   prefix: Optional[str] = None) -> dict:
    """Split a checkpoint's tensors for loading into a module.

    Args:
        model_state (dict): The module's ``state_dict()``.
        source (dict): The checkpoint's state dict.
        prefix (str, optional): Only keys under it are loaded, with the prefix
            removed (``'backbone.'``: the backbone of a whole-model checkpoint).

    Returns:
        dict: ``weights`` (the tensors to load, module keys) and the key lists
        ``loaded``, ``skipped`` (outside the prefix), ``unexpected`` (not in the
        module), ``mismatched`` (``'key: ckpt shape != model shape'``) and
        ``missing`` (module keys not loaded).
    """
    if prefix and not prefix.endswith('.'):
        prefix += '.'
    weights, skipped, unexpected, mismatched = OrderedDict(), [], [], []
    for key, value in source.items():
        if prefix and not key.startswith(prefix):
            skipped.append(key)
            continue
        name = key[len(prefix):] if prefix else key
        if name not in model_state:
            unexpected.append(key)
        elif tuple(value.shape) != tuple(model_state[name].shape):
            mismatched.append(f'{key}: {tuple(value.shape)} != {tuple(model_state[name].shape)}')
        else:
            weights[name] = value
    missing = [k for k in model_state if k not in weights]
    return dict(weights=weights, loaded=list(weights), skipped=skipped,
                unexpected=unexpected, mismatched=mismatched, missing=missing)


def summarise_keys(keys: List[str], depth: int = 2, limit: int = 12) -> str:
    """``'head.layers (24), head.embed (2)'``: key counts per leading module."""
    groups = Counter('.'.join(k.split('.')[:depth]) for k in keys)
    text = ', '.join(f'{g} ({n})' for g, n in list(groups.items())[:limit])
    return text + (f', ... {len(groups) - limit} more groups' if len(groups) > limit else '')


def format_report(report: dict, checkpoint: str, prefix: Optional[str]) -> str:
    lines = [f'Pretrained: {checkpoint}' + (f' (prefix {prefix!r})' if prefix else '')]
    for name, what in [('loaded', 'loaded'), ('skipped', 'skipped (outside the prefix)'),
                       ('unexpected', 'skipped (not in the model)'),
                       ('mismatched', 'skipped (shape mismatch)'),
                       ('missing', 'not in the checkpoint (left at their initialisation)')]:
        keys = report[name]
        if name == 'mismatched':
            detail = '; '.join(keys[:5]) + (' ...' if len(keys) > 5 else '')
        else:
            detail = summarise_keys(keys)
        lines.append(f'  {len(keys)} keys {what}' + (f': {detail}' if keys else ''))
    return '\n'.join(lines)


@WEIGHT_INITIALIZERS.register_module(name='Pretrained', force=True)
class ReportingPretrainedInit(PretrainedInit):
    """MMEngine's ``PretrainedInit`` that logs the loaded and skipped keys.

    Args:
        checkpoint (str): Checkpoint file or URL (any ``CheckpointLoader`` scheme).
        prefix (str, optional): Load only the keys under this prefix, with it
            removed: ``'backbone.'`` keeps a whole-model checkpoint's backbone
            and drops its head. None loads every key.
        map_location (str): Device of the loaded tensors. Defaults to 'cpu'.
    """

    def __call__(self, module: torch.nn.Module) -> None:
        source = checkpoint_state_dict(
            _load_checkpoint(self.checkpoint, map_location=self.map_location, logger='current'))
        report = select_weights(module.state_dict(), source, self.prefix)
        if not report['loaded']:
            raise ValueError(
                f'Pretrained: no tensor of {self.checkpoint} fits the module '
                f'(prefix {self.prefix!r}; checkpoint keys: {summarise_keys(list(source))})')
        load_state_dict(module, report.pop('weights'), strict=False, logger=None)
        module.pretrained_report = report
        print_log(format_report(report, self.checkpoint, self.prefix), logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
