"""A ``TIMMBackbone`` whose early modules can be frozen.

MMPretrain's own backbones have ``frozen_stages``; ``TIMMBackbone`` has not.
Freezing the high-resolution early blocks makes CPU fine-tuning several times
cheaper (no gradients through them), which the offline demo relies on.
"""
from typing import Sequence

from mmpretrain.models.backbones import TIMMBackbone
from mmpretrain.registry import MODELS


@MODELS.register_module()
class FreezableTIMMBackbone(TIMMBackbone):
    """``TIMMBackbone`` with frozen submodules.

    Frozen modules get ``requires_grad=False`` and stay in eval mode (their
    batch-norm statistics do not change) whatever ``train()`` is called with.

    Args:
        frozen_modules (Sequence[str]): Names of submodules of the timm model
            to freeze, e.g. ``['conv_stem', 'bn1', 'blocks.0']``.
        **kwargs: Arguments of :class:`mmpretrain.models.TIMMBackbone`.
    """

    def __init__(self, frozen_modules: Sequence[str] = (), **kwargs):
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
        self.train()

    def train(self, mode: bool = True):
        super().train(mode)
        for module in getattr(self, 'frozen', ()):
            module.eval()
        return self
