from .offline_weights import convert_efficientnet_lite0, load_offline_weights

__all__ = ['convert_efficientnet_lite0', 'load_offline_weights']
