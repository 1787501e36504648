from .freezable_timm_backbone import FreezableTIMMBackbone

__all__ = ['FreezableTIMMBackbone']
