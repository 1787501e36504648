"""Label-graph buffers shared by the graph branches (``GATReweightNeck``,
``MLGCNHead``): turning an adjacency into weighted edges, registering them as
buffers and building the backend graph (DGL or PyTorch Geometric, see
``graph_layers``). Reading the graph itself is
:func:`mmpretrain_multilabel.graph.graph_arrays`.

Neither graph library is imported at package import, only when a graph
branch is built.
"""
from typing import Tuple

import numpy as np
import torch
from torch import nn

from .graph_layers import backend_graph


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
