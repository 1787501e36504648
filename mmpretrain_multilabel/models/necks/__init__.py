from .gat_reweight_neck import GATReweightNeck

__all__ = ['GATReweightNeck']
