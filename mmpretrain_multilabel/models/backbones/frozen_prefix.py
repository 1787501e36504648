"""The frozen leading stages of a backbone, run once per batch without autograd.

A backbone whose first stages are frozen (weights without gradient, batch
norm in eval mode, no dropout: :class:`~.FreezableTIMMBackbone`) computes the
same function of the input in those stages at every call. Three switches make
that part cheaper (docs/benchmarks.md, "Cross-validation speed"):

- **cache** (exact): the frozen stages run under ``torch.no_grad()`` and
  their output is kept for the next call with the same input tensor. SAM's
  second pass (:class:`~mmpretrain_multilabel.engine.SAMOptimWrapper` replays
  the forward with the same preprocessed batch) then runs the trainable stages
  only. Bit-identical to the stock forward.
- **fold batch norm** (not bit-exact, ~2e-6 relative): each eval-mode batch
  norm is folded into the convolution before it, in a private copy of the
  frozen stages (the model's own weights stay as they are; the copy is rebuilt
  when they change, e.g. when a checkpoint is loaded).
- **channels_last**: that copy runs in the ``channels_last`` memory format
  (faster oneDNN convolutions on CPU); its output returns to the contiguous
  format, so the trainable stages run as before.
"""
import copy
import weakref
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

#: timm EfficientNet block classes -> their (convolution, batch norm) pairs, each norm
#: applied directly to its convolution's output (timm 0.9-1.0 ``_efficientnet_blocks``).
FOLDABLE_PAIRS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    'ConvBnAct': (('conv', 'bn1'),),
    'DepthwiseSeparableConv': (('conv_s2d', 'bn_s2d'), ('conv_dw', 'bn1'), ('conv_pw', 'bn2')),
    'InvertedResidual': (('conv_s2d', 'bn_s2d'), ('conv_pw', 'bn1'), ('conv_dw', 'bn2'),
                         ('conv_pwl', 'bn3')),
    'EdgeResidual': (('conv_exp', 'bn1'), ('conv_pwl', 'bn2')),
}


def efficientnet_stages(model: nn.Module) -> Optional[List[Tuple[str, nn.Module]]]:
    """The modules timm's ``EfficientNet.forward_features`` runs, in order.

    Args:
        model (nn.Module): A timm model.

    Returns:
        list[tuple[str, nn.Module]] | None: ``(name, module)`` for
        ``conv_stem``, ``bn1``, each stage ``blocks.<i>``, ``conv_head``,
        ``bn2``; None where ``model`` is not an EfficientNet with that
        forward (another architecture, a ``features_only`` model, a subclass
        with its own ``forward_features``, gradient checkpointing on).
    """
    try:
        from timm.models.efficientnet import EfficientNet
    except ImportError:  # pragma: no cover
        return None
    if not isinstance(model, EfficientNet) or getattr(model, 'grad_checkpointing', False) \
            or type(model).forward_features is not EfficientNet.forward_features \
            or type(model).forward is not EfficientNet.forward \
            or not isinstance(model.blocks, nn.Sequential):
        return None
    return ([('conv_stem', model.conv_stem), ('bn1', model.bn1)]
            + [(f'blocks.{i}', stage) for i, stage in enumerate(model.blocks)]
            + [('conv_head', model.conv_head), ('bn2', model.bn2)])


def frozen_prefix_length(names: Sequence[str], frozen: Sequence[str]) -> int:
    """How many leading ``names`` lie inside the ``frozen`` modules.

    Args:
        names (Sequence[str]): Module names in execution order.
        frozen (Sequence[str]): Names of frozen modules; a module is inside
            one if its name equals it or starts with it and a dot.

    Returns:
        int: The length of the frozen prefix (0: none).
    """
    count = 0
    for name in names:
        if not any(name == f or name.startswith(f + '.') for f in frozen):
            break
        count += 1
    return count


def fold_conv_bn(conv: nn.Conv2d, bn: _BatchNorm) -> Tuple[nn.Conv2d, nn.Module]:
    """Fold an eval-mode batch norm into the convolution before it.

    ``bn(conv(x)) == conv'(x)`` up to rounding, with
    ``W' = W * s``, ``b' = (b - mean) * s + beta``, ``s = gamma / sqrt(var + eps)``
    (computed in float64). A timm ``BatchNormAct2d`` keeps its dropout and
    activation, which run after the folded convolution.

    Args:
        conv (nn.Conv2d): The convolution (any ``nn.Conv2d`` subclass, e.g.
            timm's same-padding one); not modified.
        bn (_BatchNorm): The batch norm applied to its output, with running
            statistics; not modified.

    Returns:
        tuple[nn.Conv2d, nn.Module]: A copy of ``conv`` with the folded
        weights and a bias, and what replaces ``bn`` (its dropout and
        activation for a ``BatchNormAct2d``, else ``nn.Identity``).
    """
    folded = copy.deepcopy(conv)
    var = bn.running_var.double()
    scale = (bn.weight.double() if bn.affine else torch.ones_like(var)) \
        / torch.sqrt(var + bn.eps)
    shift = (bn.bias.double() if bn.affine else torch.zeros_like(var)) \
        - bn.running_mean.double() * scale
    bias = conv.bias.double() * scale if conv.bias is not None else torch.zeros_like(var)
    with torch.no_grad():
        weight = conv.weight.double() * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
        folded.weight = nn.Parameter(weight.to(conv.weight.dtype), requires_grad=False)
        folded.bias = nn.Parameter((bias + shift).to(conv.weight.dtype), requires_grad=False)
    after = [m for m in (getattr(bn, 'drop', None), getattr(bn, 'act', None)) if m is not None]
    return folded, nn.Sequential(*after) if after else nn.Identity()


def _foldable(conv, bn) -> bool:
    return (isinstance(conv, nn.Conv2d) and isinstance(bn, _BatchNorm)
            and not bn.training and bn.running_mean is not None
            and bn.running_var is not None and conv.out_channels == bn.num_features)


def _fold_block(block: nn.Module) -> int:
    """Fold the known pairs of one timm block in place; returns how many."""
    count = 0
    for conv_name, bn_name in FOLDABLE_PAIRS.get(type(block).__name__, ()):
        conv, bn = getattr(block, conv_name, None), getattr(block, bn_name, None)
        if _foldable(conv, bn):
            folded, after = fold_conv_bn(conv, bn)
            setattr(block, conv_name, folded)
            setattr(block, bn_name, after)
            count += 1
    return count


def fold_frozen_bn(modules: Sequence[nn.Module]) -> Tuple[nn.Sequential, int]:
    """A copy of ``modules`` (run one after the other) with batch norms folded.

    Folded: two consecutive ``modules`` that are a convolution and a batch
    norm (EfficientNet's ``conv_stem``, ``bn1``), and the pairs of the timm
    blocks in :data:`FOLDABLE_PAIRS` (matched by exact class name, so a
    subclass with another forward is left alone). Every other module is copied
    unchanged. The norms must be in eval mode.

    Args:
        modules (Sequence[nn.Module]): The frozen stages, in execution order.

    Returns:
        tuple[nn.Sequential, int]: The folded copy (eval mode, no gradient)
        and the number of norms folded.
    """
    copies = [copy.deepcopy(m) for m in modules]
    out: List[nn.Module] = []
    count = 0
    i = 0
    while i < len(copies):
        if i + 1 < len(copies) and _foldable(copies[i], copies[i + 1]):
            folded, after = fold_conv_bn(copies[i], copies[i + 1])
            out += [folded, after]
            count += 1
            i += 2
            continue
        for block in copies[i].modules():
            count += _fold_block(block)
        out.append(copies[i])
        i += 1
    seq = nn.Sequential(*out).eval()
    for p in seq.parameters():
        p.requires_grad_(False)
    return seq, count


def tensors_key(modules: Sequence[nn.Module]) -> tuple:
    """Identity of the weights of ``modules``: a tensor's storage, version
    counter (bumped by every in-place write, e.g. ``load_state_dict``), dtype
    and device, for every parameter and buffer."""
    return tuple((t.data_ptr(), t._version, t.dtype, t.device)
                 for m in modules for t in (*m.parameters(), *m.buffers()))


def autocast_state() -> tuple:
    """Whether autocast is on, and its dtype, on the CPU and on CUDA: a
    cached output is reused under the same mixed-precision setting only."""
    return tuple((_autocast_enabled(device), _autocast_dtype(device))
                 for device in ('cpu', 'cuda'))


#: torch >= 2.4 takes the device type; torch 2.2 has one function per device
_PER_DEVICE_AUTOCAST = hasattr(torch, 'get_autocast_dtype')


def _autocast_enabled(device: str) -> bool:
    if _PER_DEVICE_AUTOCAST:
        return torch.is_autocast_enabled(device)
    return torch.is_autocast_cpu_enabled() if device == 'cpu' else torch.is_autocast_enabled()


def _autocast_dtype(device: str) -> torch.dtype:
    if _PER_DEVICE_AUTOCAST:
        return torch.get_autocast_dtype(device)
    return (torch.get_autocast_cpu_dtype() if device == 'cpu'
            else torch.get_autocast_gpu_dtype())


def _chain(modules: Sequence[nn.Module], x: torch.Tensor) -> torch.Tensor:
    for module in modules:
        x = module(x)
    return x


class FrozenPrefix:
    """Runs frozen leading stages under ``no_grad``, once per input tensor.

    Not an ``nn.Module``: it holds no weights of its own in the model (no
    state-dict entries, nothing for the optimizer or the EMA); the folded copy
    is private and rebuilt when the frozen weights change. A deep copy (the
    EMA model) starts with an empty cache.

    Args:
        cache (bool): Keep the output for the next call with the same input
            tensor (same object, unmodified since), unchanged weights and the
            same autocast setting.
        fold_bn (bool): Run a copy with the batch norms folded
            (:func:`fold_frozen_bn`).
        channels_last (bool): Run the stages (or the folded copy) in the
            ``channels_last`` format; the output is returned contiguous.
    """

    def __init__(self, cache: bool = True, fold_bn: bool = False,
                 channels_last: bool = False):
        self.cache = cache
        self.fold_bn = fold_bn
        self.channels_last = channels_last
        self.runs = 0  # forward computations of the stages (cache misses)
        self._clear()

    def _clear(self) -> None:
        self._input: Optional[weakref.ref] = None
        self._key: tuple = ()
        self._output: Optional[torch.Tensor] = None
        self._output_version = -1
        self._copy: Optional[nn.Module] = None
        self._copy_key: tuple = ()

    def __deepcopy__(self, memo) -> 'FrozenPrefix':
        return FrozenPrefix(self.cache, self.fold_bn, self.channels_last)

    def __getstate__(self) -> dict:
        return dict(cache=self.cache, fold_bn=self.fold_bn,
                    channels_last=self.channels_last)

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def _runner(self, modules: Sequence[nn.Module], key: tuple) -> Callable:
        if not (self.fold_bn or self.channels_last):
            return lambda x: _chain(modules, x)
        if self._copy is None or self._copy_key != key:
            if self.fold_bn:
                seq, _ = fold_frozen_bn(modules)
            else:
                seq = nn.Sequential(*[copy.deepcopy(m) for m in modules]).eval()
            if self.channels_last:
                seq = seq.to(memory_format=torch.channels_last)
            self._copy, self._copy_key = seq, key
        return self._copy

    def __call__(self, modules: Sequence[nn.Module], x: torch.Tensor) -> torch.Tensor:
        """The output of ``modules`` applied in turn to ``x`` (no gradient).

        Args:
            modules (Sequence[nn.Module]): The frozen stages, in eval mode.
            x (Tensor): The input batch (not requiring grad).

        Returns:
            Tensor: Their output, contiguous, without autograd history.
        """
        key = tensors_key(modules)
        state = (key, x._version, autocast_state())
        if (self.cache and self._input is not None and self._input() is x
                and self._key == state and self._output is not None
                and self._output._version == self._output_version):
            return self._output
        runner = self._runner(modules, key)
        with torch.no_grad():
            inp = x.contiguous(memory_format=torch.channels_last) if self.channels_last else x
            out = runner(inp).contiguous()
        self.runs += 1
        if self.cache:
            self._input, self._key = weakref.ref(x), state
            self._output, self._output_version = out, out._version
        return out
