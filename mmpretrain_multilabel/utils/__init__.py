from .thresholds import load_thresholds, save_thresholds

__all__ = ['load_thresholds', 'save_thresholds']
