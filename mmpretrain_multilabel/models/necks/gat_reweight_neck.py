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

The graph layers run on DGL or PyTorch Geometric (``graph_backend``, see
``models/utils/graph_layers.py``) with the same parameters and outputs;
neither library is imported at package import, only when the neck is built.
The label graph comes built, or as a build spec that the neck builds (and
caches) when it is built (``mmpretrain_multilabel.graph``).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

from ...graph import GraphInput, LabelGraphError, graph_arrays, resolve_graph_spec
from ..utils.arg_checks import check_choices, check_ints
from ..utils.eval_cache import EvalCacheMixin
from ..utils.graph_buffers import cached_graph, register_graph_buffers
from ..utils.graph_layers import GATLayer, GCNLayer, resolve_graph_backend


@MODELS.register_module()
class GATReweightNeck(EvalCacheMixin, BaseModule):
    """Label-graph attention branch that re-weights backbone channels.

    Args:
        in_channels (int): Channels S of the backbone's last feature map;
            also the output size of the last graph layer.
        graph (str | LabelGraph | dict): The label graph: a ``.npz`` written
            by ``tools/build_label_graph.py``, a ``LabelGraph`` or
            ``dict(node_features=[K, N], adjacency=[K, K])`` (see
            :func:`mmpretrain_multilabel.graph.graph_arrays`). A config may
            give a build spec ``dict(dataset=<training dataset cfg or
            annotation file>, word_vectors='glove-6b-50d' | path, t=0.4,
            p=0.25, cache_file=None, ...)``: the neck builds the graph from
            it when it is built, or reads it from the cache
            (:func:`mmpretrain_multilabel.graph.resolve_graph_spec`), so any
            runner works, MMPretrain's stock tools included.
            ``word_vectors='prototypes'`` runs a trained model: the
            project's tools build it before the model
            (:func:`mmpretrain_multilabel.apis.prepare_label_graphs`).
        num_classes (int, optional): If given, must equal the graph's K.
        feature_dim (int, optional): If given, must equal the graph's node
            feature size N (e.g. 300 to insist on the paper's GloVe 300-d).
        layer_type (str): ``'gat'`` (:class:`GATLayer`, as
            ``dgl.nn.GATConv``) or ``'gcn'`` (:class:`GCNLayer`, as
            ``dgl.nn.GraphConv``, with ML-GCN's normalised adjacency).
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
        graph_backend (str): Message passing on ``'dgl'``, ``'pyg'``
            (PyTorch Geometric) or ``'auto'`` (DGL if it imports, else
            PyTorch Geometric). Same parameters, ``state_dict`` keys and
            outputs on both. Defaults to ``'auto'``.
        init_cfg (dict, optional): MMEngine init config.

    Note:
        In eval mode ``w`` is computed without gradient and cached (see
        :class:`EvalCacheMixin`); the cache is dropped by ``train()``/
        ``eval()``, ``.to()``, loading weights, copying/pickling and whenever
        a graph parameter or buffer changes (storage, version counter,
        device, dtype). Writes through ``param.data`` bypass PyTorch's
        version counter: call :meth:`clear_eval_cache` after such edits
        (MMPretrain's EMA swap happens before ``eval()``, which clears it).
    """

    def __init__(self,
                 in_channels: int,
                 graph: GraphInput,
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
                 graph_backend: str = 'auto',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        check_choices('GATReweightNeck', layer_type=(layer_type, ('gat', 'gcn')),
                      out_type=(out_type, ('pooled', 'map')))
        check_ints('GATReweightNeck', in_channels=in_channels, num_layers=num_layers)
        if layer_type == 'gat' and num_layers > 1 and (
                hidden_channels % num_heads):
            raise ValueError(
                f'GATReweightNeck: hidden_channels ({hidden_channels}) must be '
                f'divisible by num_heads ({num_heads})')
        self.graph_backend = resolve_graph_backend(graph_backend)
        self.in_channels = in_channels
        self.layer_type = layer_type
        self.use_edge_weight = use_edge_weight
        self.out_type = out_type
        self.negative_slope = negative_slope

        feats, adj, source = graph_arrays(resolve_graph_spec(graph, 'GATReweightNeck'),
                                          adjacency, 'GATReweightNeck')
        k = feats.shape[0]
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

        register_graph_buffers(self, feats, adj, layer_type)

        dims = [self.node_feat_dim] + [hidden_channels] * (num_layers - 1) + [
            in_channels]
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            last = i == num_layers - 1
            if layer_type == 'gat':
                heads_out = dims[i + 1] if last else dims[i + 1] // num_heads
                self.layers.append(
                    GATLayer(dims[i], heads_out, num_heads,
                             feat_dropout=feat_dropout,
                             attn_dropout=attn_dropout,
                             negative_slope=negative_slope))
            else:  # ML-GCN: bias-free graph convolution, normalised adjacency
                self.layers.append(GCNLayer(dims[i], dims[i + 1]))
        self.dropout = nn.Dropout(feat_dropout) if layer_type == 'gcn' else None

    # ------------------------------------------------------------ graph ----
    def compute_channel_weights(self) -> torch.Tensor:
        """Run the graph branch: ``w = sigmoid(max_k h[k])``, shape ``[S]``
        (always recomputed; see :meth:`channel_weights`)."""
        g = cached_graph(self)
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

    def channel_weights(self) -> torch.Tensor:
        """``w``: recomputed (with gradient) in train mode, cached in eval
        mode until a graph parameter or buffer changes."""
        return self.eval_cached('channel_weights', self.compute_channel_weights)

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

