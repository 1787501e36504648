from .eval_cache import EvalCacheMixin, state_key, trace_paused
from .graph_buffers import cached_graph, graph_edges, register_graph_buffers
from .graph_layers import GRAPH_BACKENDS, GATLayer, GCNLayer, import_dgl, resolve_graph_backend
from .offline_weights import convert_efficientnet_lite0, load_offline_weights, offline_classifier
from .pretrained_report import ReportingPretrainedInit, select_weights

__all__ = [
    'EvalCacheMixin', 'state_key', 'trace_paused', 'cached_graph', 'graph_edges',
    'register_graph_buffers', 'GRAPH_BACKENDS', 'GATLayer', 'GCNLayer', 'import_dgl',
    'resolve_graph_backend', 'convert_efficientnet_lite0', 'load_offline_weights',
    'offline_classifier', 'ReportingPretrainedInit', 'select_weights'
]
