from .aam_loss import AAMLoss, aam_loss

__all__ = ['AAMLoss', 'aam_loss']
