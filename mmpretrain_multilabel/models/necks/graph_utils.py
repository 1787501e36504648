"""Label-graph helpers shared by the graph branches (``GATReweightNeck``,
``MLGCNHead``): reading a graph spec into arrays, turning an adjacency into
weighted edges, registering them as buffers and building the backend graph
(DGL or PyTorch Geometric, see ``graph_layers``).

Neither graph library is imported at package import, only when a graph
branch is built.
"""
from typing import Any, Dict, Optional, Tuple, Union

import numpy as np
import torch
from torch import nn

from .graph_layers import (  # noqa: F401 (importable from here)
    DGL_SUPPORTED_TORCH,
    backend_graph,
    import_dgl,
)
from .label_graph import LabelGraph, LabelGraphError

GraphSpec = Union[str, LabelGraph, Dict[str, Any]]


def as_graph_arrays(
    graph: GraphSpec
) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], str]:
    """Read a label graph given in any of the forms the graph branches take.

    Args:
        graph (str | LabelGraph | dict): A ``.npz`` written by
            ``tools/build_label_graph.py``; a :class:`LabelGraph`; arrays
            ``dict(node_features=[K, N], adjacency=[K, K])`` (or
            ``adj_reweighted`` / ``adj_binary`` instead of ``adjacency``); or
            a build spec ``dict(dataset=..., word_vectors=..., ...)`` for
            ``load_or_build_graph``.

    Returns:
        tuple: ``(node_features, adj_reweighted, adj_binary, source)``: the
        ``[K, N]`` node features, the two ``[K, K]`` adjacencies (``None``
        where the input has no such matrix) and a phrase naming the source
        for error messages.

    Raises:
        TypeError: ``graph`` is none of those forms.
        LabelGraphError: A dict that is neither a build spec nor arrays, or
            a graph file that cannot be read.
    """
    if isinstance(graph, str):
        graph = LabelGraph.load(graph)
    if isinstance(graph, LabelGraph):
        return (graph.node_features, graph.adj_reweighted, graph.adj_binary,
                'label graph')
    if not isinstance(graph, dict):
        raise TypeError('GATReweightNeck: graph must be a .npz path, a '
                        'LabelGraph, dict(node_features=..., adjacency=...) '
                        f'or dict(dataset=..., word_vectors=...); got '
                        f'{type(graph).__name__}')
    if 'dataset' in graph:
        from .label_graph_builder import load_or_build_graph
        return as_graph_arrays(load_or_build_graph(**graph))
    if 'node_features' not in graph or not (
            {'adjacency', 'adj_reweighted', 'adj_binary'} & set(graph)):
        raise LabelGraphError(
            'GATReweightNeck: graph must be a build spec with the training '
            "dataset (dict(dataset=..., word_vectors='glove-6b-50d', ...)) or "
            'arrays (node_features and adjacency, or adj_reweighted / '
            f'adj_binary); got keys {sorted(graph)}')
    feats = np.asarray(graph['node_features'], dtype=np.float32)
    adj = graph.get('adjacency', graph.get('adj_reweighted'))
    return (feats, None if adj is None else np.asarray(adj, np.float32),
            None if graph.get('adj_binary') is None else np.asarray(
                graph['adj_binary'], np.float32), 'graph arrays')


def graph_edges(adj: np.ndarray,
                layer_type: str) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted edges ``src -> dst`` for ``adj[src, dst] > 0`` plus self-loops.

    ML-GCN aggregates ``out_i = sum_j d_i A[j, i] d_j x_j`` with
    ``d = rowsum(A)^-1/2`` (``gen_adj``); for GCN that normalised value is the
    edge weight, for GAT the raw adjacency value. A missing (zero) diagonal
    entry becomes a self-loop of weight 1.

    Args:
        adj (np.ndarray): ``[K, K]`` adjacency, non-negative.
        layer_type (str): ``'gcn'`` (normalised weights) or ``'gat'`` (raw
            adjacency values).

    Returns:
        tuple: ``(src, dst, weight)``: int64 node indices and float32 edge
        weights, one entry per edge.
    """
    a = np.asarray(adj, np.float64).copy()
    np.fill_diagonal(a, np.where(np.diag(a) > 0, np.diag(a), 1.0))
    src, dst = np.nonzero(a)
    weight = a[src, dst]
    if layer_type == 'gcn':
        d = np.power(a.sum(1), -0.5)
        weight = weight * d[src] * d[dst]
    return (src.astype(np.int64), dst.astype(np.int64),
            weight.astype(np.float32))


def register_graph_buffers(module: nn.Module, node_features: np.ndarray,
                           adj: np.ndarray, layer_type: str) -> None:
    """Store a label graph on a module as buffers.

    Registers ``node_features`` (``[K, N]``) and the edges of
    :func:`graph_edges` as ``edge_src``, ``edge_dst`` and ``edge_weight``,
    the buffers :func:`cached_graph` reads.

    Args:
        module (nn.Module): The graph branch.
        node_features (np.ndarray): ``[K, N]`` float32 node features.
        adj (np.ndarray): ``[K, K]`` adjacency.
        layer_type (str): ``'gcn'`` or ``'gat'`` (see :func:`graph_edges`).
    """
    src, dst, weight = graph_edges(adj, layer_type)
    for name, array in (('node_features', node_features), ('edge_src', src),
                        ('edge_dst', dst), ('edge_weight', weight)):
        module.register_buffer(name, torch.from_numpy(array))


def cached_graph(module: nn.Module):
    """The backend graph of a module's ``edge_src -> edge_dst`` buffers.

    Built with :func:`graph_layers.backend_graph` on the module's
    ``graph_backend`` (``'dgl'`` or ``'pyg'``), on the buffers' device over
    ``module.num_classes`` nodes, and kept in the module's eval cache
    (``EvalCacheMixin.state_cached``), so it is reused in train and eval
    mode, rebuilt on demand after the edge buffers change (device, dtype,
    storage, version counter) or the cache is dropped (``train()``/
    ``eval()``, ``.to()``, ``load_state_dict``), and never copied by
    ``copy.deepcopy`` or pickling.

    Args:
        module (nn.Module): An ``EvalCacheMixin`` module with the buffers of
            :func:`register_graph_buffers` and ``num_classes`` and
            ``graph_backend`` attributes.

    Returns:
        DGLGraph | PyGGraph: The graph with K nodes and the module's edges.
    """
    src, dst = module.edge_src, module.edge_dst
    return module.state_cached(
        f'{module.graph_backend}_graph',
        lambda: backend_graph(module.graph_backend, src, dst, module.num_classes),
        (src, dst))
