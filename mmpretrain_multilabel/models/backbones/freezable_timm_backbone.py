"""A ``TIMMBackbone`` whose early modules can be frozen.

MMPretrain's own backbones have ``frozen_stages``; ``TIMMBackbone`` has not.
Freezing the high-resolution early blocks makes CPU fine-tuning several times
cheaper (no gradients through them), which the offline demo relies on. Where
the frozen modules are the leading stages of a timm EfficientNet, they run
once per batch without autograd (:mod:`.frozen_prefix`): SAM's second pass
reuses their output.
"""
from typing import Sequence

import torch
from mmpretrain.models.backbones import TIMMBackbone
from mmpretrain.registry import MODELS

from .frozen_prefix import FrozenPrefix, efficientnet_stages, frozen_prefix_length


@MODELS.register_module()
class FreezableTIMMBackbone(TIMMBackbone):
    """``TIMMBackbone`` with frozen submodules.

    Frozen modules get ``requires_grad=False`` and stay in eval mode (their
    batch-norm statistics do not change) whatever ``train()`` is called with.

    When the frozen modules include the first stages of a timm EfficientNet
    (``conv_stem``, ``bn1``, ``blocks.0``, ...), those stages run under
    ``no_grad`` through a :class:`~.frozen_prefix.FrozenPrefix`; other
    models, inputs that require grad, tracing or scripting, and all three
    switches off take the stock forward.

    Args:
        frozen_modules (Sequence[str]): Names of submodules of the timm model
            to freeze, e.g. ``['conv_stem', 'bn1', 'blocks.0']``.
        cache_frozen (bool): Reuse the frozen stages' output for the next call
            with the same input tensor (SAM's second pass). Exact: the output
            is bit-identical. Defaults to True.
        fold_frozen_bn (bool): Run the frozen stages as a private copy with
            the batch norms folded into the convolutions (equal up to float
            rounding, ~2e-6 relative). Defaults to False.
        frozen_channels_last (bool): Run the frozen stages in the
            ``channels_last`` memory format (float rounding as above).
            Defaults to False.
        **kwargs: Arguments of :class:`mmpretrain.models.TIMMBackbone`.
    """

    def __init__(self, frozen_modules: Sequence[str] = (), cache_frozen: bool = True,
                 fold_frozen_bn: bool = False, frozen_channels_last: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        named = dict(self.timm_model.named_modules())
        unknown = [name for name in frozen_modules if name not in named]
        if unknown:
            raise ValueError(
                f'frozen_modules: {unknown} are not modules of timm model '
                f"{kwargs.get('model_name')!r}; top-level modules are "
                f'{[n for n, _ in self.timm_model.named_children()]}')
        self.frozen = [named[name] for name in frozen_modules]
        for module in self.frozen:
            for param in module.parameters():
                param.requires_grad = False
        stages = efficientnet_stages(self.timm_model)
        self.num_frozen_stages = 0 if stages is None else frozen_prefix_length(
            [name for name, _ in stages], list(frozen_modules))
        self.frozen_prefix = FrozenPrefix(cache_frozen, fold_frozen_bn, frozen_channels_last)
        self.train()

    def train(self, mode: bool = True):
        super().train(mode)
        for module in getattr(self, 'frozen', ()):
            module.eval()
        return self

    def _stock_forward(self, x: torch.Tensor) -> bool:
        prefix = self.frozen_prefix
        return (self.num_frozen_stages == 0 or x.requires_grad
                or not (prefix.cache or prefix.fold_bn or prefix.channels_last)
                or torch.jit.is_tracing() or torch.jit.is_scripting()
                or torch.onnx.is_in_onnx_export())

    def forward(self, x: torch.Tensor) -> tuple:
        stages = None if self._stock_forward(x) else efficientnet_stages(self.timm_model)
        if stages is None:
            return super().forward(x)
        n = self.num_frozen_stages
        feats = self.frozen_prefix([m for _, m in stages[:n]], x)
        for _, module in stages[n:]:
            feats = module(feats)
        return (self.timm_model.forward_head(feats), )
