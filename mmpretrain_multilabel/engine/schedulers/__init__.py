from .scaled_one_cycle import ScaledOneCycleLR, group_peaks

__all__ = ['ScaledOneCycleLR', 'group_peaks']
