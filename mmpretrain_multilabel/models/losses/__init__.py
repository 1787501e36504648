from .aam_loss import AAMLoss, aam_loss
from .batch_sum_loss import BatchSumLoss

__all__ = ['AAMLoss', 'aam_loss', 'BatchSumLoss']
