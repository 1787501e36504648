"""Graph-attention channel re-weighting neck (Prokofiev & Sovrasov 2022,
"Combining Metric Learning and Attention Heads For Accurate and Efficient
Multilabel Image Classification", Sec. 3.3 and Fig. 1,
https://arxiv.org/abs/2209.06585).

Graph layers (GAT, Velickovic et al. 2018, https://arxiv.org/abs/1710.10903;
or ML-GCN's GCN, Chen et al. 2019) run over the K-label graph and give
``h`` of shape ``[K, S]``; a max over the K nodes and a sigmoid give channel
weights ``w`` (``[S]``) that scale the backbone's feature map ``f``
(``[B, S, H, W]``). The neck returns ``GAP(w*f) + GMP(w*f)`` for linear /
cosine heads or ``w*f`` for ML-Decoder.

The branch's input does not depend on the image, so in eval mode ``w`` is
computed once and cached (no inference overhead; ONNX export and FLOP
counters see it as a constant).

DGL is imported only when the neck is built, never at package import.
"""
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

from .label_graph import LabelGraph, LabelGraphError

#: The torch versions PyPI's DGL wheels (dgl==2.1.0) ship native libraries for.
DGL_SUPPORTED_TORCH = 'torch <= 2.2.1'


def import_dgl():
    """Import DGL and ``dgl.nn``, or raise an ImportError that says which
    torch versions the PyPI DGL wheels support."""
    try:
        import dgl
        import dgl.nn  # noqa: F401 (loads the native graph ops)
    except Exception as e:  # ImportError, OSError from a missing .so, ...
        raise ImportError(
            'GATReweightNeck needs DGL, which failed to load with torch '
            f'{torch.__version__} ({type(e).__name__}: {e}). DGL 2.1.0 wheels '
            f'on PyPI ship native libraries for {DGL_SUPPORTED_TORCH} only: '
            'pip install "dgl==2.1.0" "torch<=2.2.1" "numpy<2" (or '
            '"mmpretrain-multilabel[graph]"), or install the DGL build that '
            "matches your torch from DGL's own wheel index.") from e
    return dgl


def _trace_paused():
    """Context that hides its ops from ``torch.jit`` tracing (ONNX export,
    FLOP counters): tensors made inside become trace constants."""

    class _Paused:

        def __enter__(self):
            self.state = torch._C._get_tracing_state()
            if self.state is not None:
                torch._C._set_tracing_state(None)

        def __exit__(self, *exc):
            if self.state is not None:
                torch._C._set_tracing_state(self.state)
            return False

    return _Paused()


def _as_graph(graph: Union[str, LabelGraph, Dict[str, Any]]
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """``(node_features, adj_reweighted or None, adj_binary or None,
    source)`` from a file, a :class:`LabelGraph`, arrays or a build spec."""
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
        return _as_graph(load_or_build_graph(**graph))
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


@MODELS.register_module()
class GATReweightNeck(BaseModule):
    """Label-graph attention branch that re-weights backbone channels.

    Args:
        in_channels (int): Channels S of the backbone's last feature map;
            also the output size of the last graph layer.
        graph (str | LabelGraph | dict): The label graph: a ``.npz`` written
            by ``tools/build_label_graph.py``; ``dict(node_features=[K, N],
            adjacency=[K, K])``; or a build spec ``dict(dataset=<training
            dataset cfg or annotation file>, word_vectors='glove-6b-50d' |
            path | 'prototypes', t=0.4, p=0.25, cache_file=None, ...)`` that
            is built once and cached (see ``load_or_build_graph``).
        num_classes (int, optional): If given, must equal the graph's K.
        feature_dim (int, optional): If given, must equal the graph's node
            feature size N (e.g. 300 to insist on the paper's GloVe 300-d).
        layer_type (str): ``'gat'`` (``dgl.nn.GATConv``) or ``'gcn'``
            (``dgl.nn.GraphConv`` with ML-GCN's normalised adjacency).
            Defaults to ``'gat'``.
        num_layers (int): Graph layers. Defaults to 2.
        hidden_channels (int): Width of the hidden graph layers (for GAT the
            concatenation of all heads). Defaults to 1024 (ML-GCN).
        num_heads (int): Attention heads (GAT); the last layer averages its
            heads. Defaults to 4.
        feat_dropout (float): Dropout on each graph layer's input.
        attn_dropout (float): Dropout on attention coefficients (GAT).
        negative_slope (float): LeakyReLU slope inside GAT attention and
            between layers. Defaults to 0.2.
        adjacency (str): ``'reweighted'`` or ``'binary'`` adjacency of the
            graph file. Self-loops are always added. Defaults to
            ``'reweighted'``.
        use_edge_weight (bool): GAT only: scale attention by the adjacency
            values (GCN always uses them). Defaults to False.
        out_type (str): ``'pooled'``: ``GAP(w*f) + GMP(w*f)`` (linear /
            cosine heads); ``'map'``: ``w*f`` (ML-Decoder). Defaults to
            ``'pooled'``.
        init_cfg (dict, optional): MMEngine init config.

    Note:
        In eval mode ``w`` is computed without gradient and cached; the cache
        is dropped by ``train()``/``eval()``, by loading weights and whenever
        a graph parameter changes (storage, version counter, device, dtype).
        Writes through ``param.data`` bypass PyTorch's version counter: call
        :meth:`clear_cache` after such edits (MMPretrain's EMA swap happens
        before ``eval()``, which clears it).
    """

    def __init__(self,
                 in_channels: int,
                 graph: Union[str, LabelGraph, Dict[str, Any]],
                 num_classes: Optional[int] = None,
                 feature_dim: Optional[int] = None,
                 layer_type: str = 'gat',
                 num_layers: int = 2,
                 hidden_channels: int = 1024,
                 num_heads: int = 4,
                 feat_dropout: float = 0.0,
                 attn_dropout: float = 0.0,
                 negative_slope: float = 0.2,
                 adjacency: str = 'reweighted',
                 use_edge_weight: bool = False,
                 out_type: str = 'pooled',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        _check_choice('layer_type', layer_type, ('gat', 'gcn'))
        _check_choice('adjacency', adjacency, ('reweighted', 'binary'))
        _check_choice('out_type', out_type, ('pooled', 'map'))
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'GATReweightNeck: in_channels must be a '
                             f'positive int, got {in_channels!r}')
        if num_layers < 1:
            raise ValueError(f'GATReweightNeck: num_layers must be >= 1, got '
                             f'{num_layers}')
        if layer_type == 'gat' and num_layers > 1 and (
                hidden_channels % num_heads):
            raise ValueError(
                f'GATReweightNeck: hidden_channels ({hidden_channels}) must be '
                f'divisible by num_heads ({num_heads})')
        dgl = import_dgl()
        self.in_channels = in_channels
        self.layer_type = layer_type
        self.use_edge_weight = use_edge_weight
        self.out_type = out_type
        self.negative_slope = negative_slope

        feats, adj_rw, adj_bin, source = _as_graph(graph)
        adj = adj_rw if adjacency == 'reweighted' else adj_bin
        if adj is None:
            raise LabelGraphError(f'GATReweightNeck: {source} have no '
                                  f'{adjacency} adjacency')
        k = feats.shape[0]
        if feats.ndim != 2 or adj.shape != (k, k):
            raise LabelGraphError(
                f'GATReweightNeck: node_features {feats.shape} and adjacency '
                f'{adj.shape} must be [K, N] and [K, K]')
        for name, arr in (('node_features', feats), ('adjacency', adj)):
            if not np.isfinite(arr).all():
                raise LabelGraphError(f'GATReweightNeck: {name} has NaN/inf')
        if num_classes is not None and num_classes != k:
            raise LabelGraphError(
                f'GATReweightNeck: num_classes={num_classes} but the label '
                f'graph has K={k} nodes; build the graph from the same '
                'class list as the head')
        if feature_dim is not None and feature_dim != feats.shape[1]:
            raise LabelGraphError(
                f'GATReweightNeck: feature_dim={feature_dim} but the graph '
                f'node features are {feats.shape[1]}-d ({source})')
        self.num_classes = k
        self.node_feat_dim = int(feats.shape[1])

        src, dst, weight = self._edges(adj, layer_type)
        self.register_buffer('node_features', torch.from_numpy(feats))
        self.register_buffer('edge_src', torch.from_numpy(src))
        self.register_buffer('edge_dst', torch.from_numpy(dst))
        self.register_buffer('edge_weight', torch.from_numpy(weight))

        dims = [self.node_feat_dim] + [hidden_channels] * (num_layers - 1) + [
            in_channels]
        dglnn = dgl.nn
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            last = i == num_layers - 1
            if layer_type == 'gat':
                heads_out = dims[i + 1] if last else dims[i + 1] // num_heads
                self.layers.append(
                    dglnn.GATConv(dims[i], heads_out, num_heads,
                                  feat_drop=feat_dropout,
                                  attn_drop=attn_dropout,
                                  negative_slope=negative_slope))
            else:  # ML-GCN: bias-free GraphConv on its normalised adjacency
                self.layers.append(
                    dglnn.GraphConv(dims[i], dims[i + 1], norm='none',
                                    bias=False))
        self.dropout = nn.Dropout(feat_dropout) if layer_type == 'gcn' else None
        self._graph = None
        self._graph_key = None
        self._cache: Optional[torch.Tensor] = None
        self._cache_key = None
        self._key_tensors = None

    @staticmethod
    def _edges(adj: np.ndarray, layer_type: str):
        """Edges ``src -> dst`` for ``adj[src, dst] > 0`` plus self-loops.

        ML-GCN aggregates ``out_i = sum_j d_i A[j, i] d_j x_j`` with
        ``d = rowsum(A)^-1/2`` (``gen_adj``); for GCN that normalised value is
        the edge weight, for GAT the raw adjacency value.
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

    def __getstate__(self):
        # DGL graphs and cached tensors are rebuilt on demand (deepcopy for
        # EMA, pickling) rather than copied.
        state = dict(self.__dict__)
        state.update(_graph=None, _graph_key=None, _cache=None,
                     _cache_key=None, _key_tensors=None)
        return state

    # ------------------------------------------------------------ graph ----
    def _dgl_graph(self):
        key = (self.edge_src.device, self.edge_src.data_ptr(),
               self.edge_src._version, self.edge_dst._version)
        if self._graph is None or self._graph_key != key:
            self._graph = import_dgl().graph((self.edge_src, self.edge_dst),
                                         num_nodes=self.num_classes,
                                         device=self.edge_src.device)
            self._graph_key = key
        return self._graph

    def compute_channel_weights(self) -> torch.Tensor:
        """Run the graph branch: ``w = sigmoid(max_k h[k])``, shape ``[S]``
        (always recomputed; see :meth:`channel_weights`)."""
        g = self._dgl_graph()
        h = self.node_features
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            if self.layer_type == 'gcn':
                h = layer(g, self.dropout(h), edge_weight=self.edge_weight)
            else:
                ew = self.edge_weight if self.use_edge_weight else None
                h = layer(g, h, edge_weight=ew)  # [K, heads, out]
                h = h.mean(1) if last else h.flatten(1)
            if not last:
                h = F.leaky_relu(h, self.negative_slope)
        return torch.sigmoid(h.max(dim=0).values)

    def _state_key(self):
        """Identity of everything ``w`` depends on: storage and version
        counter of each graph parameter and buffer (in-place updates by
        optimizers and ``load_state_dict`` bump the version)."""
        if self._key_tensors is None:
            self._key_tensors = list(self.layers.parameters()) + [
                self.node_features, self.edge_src, self.edge_dst,
                self.edge_weight
            ]
        return tuple((t.data_ptr(), t._version) for t in self._key_tensors)

    def channel_weights(self) -> torch.Tensor:
        """``w``: recomputed (with gradient) in train mode, cached in eval
        mode until a graph parameter or buffer changes."""
        if self.training:
            return self.compute_channel_weights()
        key = self._state_key()
        if self._cache is None or self._cache_key != key:
            with _trace_paused(), torch.inference_mode(False), \
                    torch.no_grad():
                self._cache = self.compute_channel_weights().detach()
            self._cache_key = key
        return self._cache

    def clear_cache(self) -> None:
        """Forget the cached eval-mode ``w``."""
        self._cache = None
        self._cache_key = None
        self._key_tensors = None

    def _apply(self, fn, *args, **kwargs):
        # .to() / .cuda() / .half() may replace tensors
        self.clear_cache()
        self._graph = None
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode: bool = True):
        self.clear_cache()
        return super().train(mode)

    def _load_from_state_dict(self, *args, **kwargs):
        self.clear_cache()
        self._graph = None
        return super()._load_from_state_dict(*args, **kwargs)

    # ---------------------------------------------------------- forward ----
    def forward(self, inputs: Union[torch.Tensor, Sequence[torch.Tensor]]):
        """Re-weight the last feature map.

        Args:
            inputs: The backbone output, a tensor ``[B, S, H, W]`` or a tuple
                whose last element is that map.

        Returns:
            A tuple with one tensor (a tensor for a tensor input): ``[B, S]``
            for ``out_type='pooled'``, ``[B, S, H, W]`` for ``'map'``.
        """
        is_seq = isinstance(inputs, (tuple, list))
        f = inputs[-1] if is_seq else inputs
        if not torch.jit.is_tracing() and (f.dim() != 4 or
                                           f.shape[1] != self.in_channels):
            raise ValueError(
                f'GATReweightNeck: expected a [B, {self.in_channels}, H, W] '
                f'feature map (in_channels must equal the backbone channels), '
                f'got shape {tuple(f.shape)}')
        w = self.channel_weights().to(f.dtype)
        if self.out_type == 'pooled':
            # w > 0 (sigmoid), so GAP(w*f) + GMP(w*f) = w * (GAP(f) + GMP(f)):
            # scale the pooled vector instead of the whole map
            out = (F.adaptive_avg_pool2d(f, 1).flatten(1) +
                   f.amax(dim=(2, 3))) * w
        else:
            out = f * w.view(1, -1, 1, 1)
        return (out, ) if is_seq else out


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f'GATReweightNeck: {name} must be one of {choices}, '
                         f'got {value!r}')
