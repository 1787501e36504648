from .foreach_ema import ForeachMomentumAnnealingEMA

__all__ = ['ForeachMomentumAnnealingEMA']
