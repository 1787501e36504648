"""ML-GCN classification head (Chen et al. 2019): a GCN over the label graph
produces the K classifiers that are applied to the pooled image feature."""
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS
from torch import nn

from ...graph import GraphInput, LabelGraphError, graph_arrays, resolve_graph_spec
from ..utils.arg_checks import check_channels, check_ints
from ..utils.eval_cache import EvalCacheMixin
from ..utils.graph_buffers import cached_graph, register_graph_buffers
from ..utils.graph_layers import GCNLayer, resolve_graph_backend
from .cosine_utils import CosineScoreMixin, Thr, cls_head_kwargs, cosine_linear
from .pooled_start import graph_classifier_from_pooled


@MODELS.register_module()
class MLGCNHead(EvalCacheMixin, CosineScoreMixin, MultiLabelClsHead):
    """ML-GCN: label-graph convolutions produce the classifiers.

    `Chen et al., "Multi-Label Image Recognition with Graph Convolutional
    Networks", CVPR 2019 <https://arxiv.org/abs/1904.03582>`_, the peer of
    Table 8 of `Prokofiev & Sovrasov 2022
    <https://arxiv.org/abs/2209.06585>`_.

    Two graph convolutions (:class:`GCNLayer`, as ``dgl.nn.GraphConv``;
    bias-free, LeakyReLU 0.2 between, none after) map the K node features
    (word vectors) over ML-GCN's normalised adjacency ``D^-1/2 A^T D^-1/2``
    (``D = rowsum(A)``, self-loops added where missing) to classifiers
    ``W`` ``[K, C]``; the logits are ``v W^T`` with ``v`` the max-pooled
    feature map (ML-GCN's global max pooling) or a pooled feature from a
    neck. Layer weights are initialised as ML-GCN's ``GraphConvolution``:
    uniform in ``+-1/sqrt(out)``.

    ``W`` does not depend on the image: in eval mode it is computed once and
    cached (see :class:`EvalCacheMixin`), so inference costs one matrix
    product and FLOP counters / ONNX export see ``W`` as a constant.

    Scores: ``normalized=False`` returns logits (``sigmoid(logits)``);
    ``normalized=True`` returns ``cos(v, W_k)`` for a cosine loss (AAM) and
    reports ``sigmoid(s * cos)`` with ``s`` read from the loss.

    Args:
        num_classes (int): Number of classes K (must equal the graph's).
        in_channels (int): Channels C of the image feature.
        graph (str | LabelGraph | dict): ``.npz`` written by
            ``tools/build_label_graph.py``, a ``LabelGraph`` or
            ``dict(node_features=[K, N], adjacency=[K, K])``. A config may give
            a build spec ``dict(dataset=<training dataset cfg or annotation
            file>, word_vectors='glove-6b-50d', t=0.4, p=0.25, ...)``, built
            (or read from the cache) when the head is built, as for
            ``GATReweightNeck``.
        hidden_channels (int): Width of the first graph layer. Defaults to
            1024 (ML-GCN).
        adjacency (str): ``'reweighted'`` (ML-GCN) or ``'binary'`` adjacency
            of the graph. Defaults to ``'reweighted'``.
        negative_slope (float): LeakyReLU slope between the layers.
            Defaults to 0.2.
        normalized (bool): Cosine output for AAM. Defaults to False.
        feature_dim (int, optional): If given, must equal the node feature
            size N.
        loss (dict, optional): Loss config. None means
            ``dict(type='CrossEntropyLoss', use_sigmoid=True)`` (ML-GCN's
            multilabel soft-margin loss is the same BCE).
        thr (float | list[float] | str, optional): Threshold(s): one value,
            K values or a thresholds JSON file. Defaults to None (0.5 unless
            ``topk`` is set).
        topk (int, optional): Predict the top-k when ``thr`` is None.
        graph_backend (str): Message passing on ``'dgl'``, ``'pyg'``
            (PyTorch Geometric) or ``'auto'`` (DGL if it imports, else
            PyTorch Geometric); same ``state_dict`` and outputs on both.
            Defaults to ``'auto'``.
        init_cfg (dict, optional): Extra init config. Defaults to None.
    """

    #: the pooling of the feature a pooled-classifier start is fitted on
    #: (``ClassifierTransferHook(linear_probe=True)``)
    start_pooling = 'max'

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 graph: GraphInput,
                 hidden_channels: int = 1024,
                 adjacency: str = 'reweighted',
                 negative_slope: float = 0.2,
                 normalized: bool = False,
                 feature_dim: Optional[int] = None,
                 loss: Optional[Dict] = None,
                 thr: Thr = None,
                 topk: Optional[int] = None,
                 graph_backend: str = 'auto',
                 init_cfg: Optional[dict] = None):
        check_ints('MLGCNHead', num_classes=num_classes, in_channels=in_channels,
                   hidden_channels=hidden_channels)
        super().__init__(**cls_head_kwargs(num_classes, loss, thr, topk, init_cfg))
        try:
            self.graph_backend = resolve_graph_backend(graph_backend)
        except ImportError as e:
            raise ImportError(f'MLGCNHead builds graph convolutions. {e}') from e

        feats, adj, _ = graph_arrays(resolve_graph_spec(graph, 'MLGCNHead'), adjacency,
                                     'MLGCNHead')
        if feats.shape[0] != num_classes:
            raise LabelGraphError(
                f'MLGCNHead: num_classes={num_classes} but the label graph has '
                f'K={feats.shape[0]} nodes; build the graph from the same class list')
        if feature_dim is not None and feature_dim != feats.shape[1]:
            raise LabelGraphError(f'MLGCNHead: feature_dim={feature_dim} but the graph node '
                                  f'features are {feats.shape[1]}-d')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.negative_slope = negative_slope
        register_graph_buffers(self, feats, adj, 'gcn')
        self.layers = nn.ModuleList([
            GCNLayer(feats.shape[1], hidden_channels),
            GCNLayer(hidden_channels, in_channels),
        ])
        for layer in self.layers:  # ML-GCN's GraphConvolution init
            bound = layer.weight.shape[1]**-0.5
            nn.init.uniform_(layer.weight, -bound, bound)
        self._init_scores(normalized=normalized)

    # ------------------------------------------------------------ graph ----
    def compute_classifiers(self) -> torch.Tensor:
        """Run the two graph layers: classifiers ``[K, C]`` (always
        recomputed; see :meth:`classifiers`)."""
        g = cached_graph(self)
        h = self.layers[0](g, self.node_features, edge_weight=self.edge_weight)
        h = F.leaky_relu(h, self.negative_slope)
        return self.layers[1](g, h, edge_weight=self.edge_weight)

    def classifiers(self) -> torch.Tensor:
        """``W`` ``[K, C]``: with gradient in train mode, cached in eval mode
        until a parameter or buffer of the head changes."""
        return self.eval_cached('classifiers', self.compute_classifiers)

    # ---------------------------------------------------------- forward ----
    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """The image feature ``[B, C]``: the last stage's map max-pooled, or
        a feature already pooled by a neck."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() == 4:
            x = x.amax(dim=(2, 3))
        elif x.dim() != 2:
            raise ValueError('MLGCNHead expects a feature map [B, C, H, W] or a pooled '
                             f'feature [B, C], got {tuple(x.shape)}')
        check_channels('MLGCNHead', x, self.in_channels)
        return x

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits, or cosines if ``normalized``, ``[B, K]``."""
        v = self.pre_logits(feats)
        w = self.classifiers()
        if self.normalized:
            return cosine_linear(v, w)
        return F.linear(v, w.to(v.dtype))

    def init_from_pooled_classifier(self, weight: torch.Tensor,
                                    bias: Optional[torch.Tensor] = None) -> None:
        """Start with the graph classifier equal to ``weight`` (``[K, C]``;
        ``bias`` unused: the head has none), fitted through the last graph
        layer (:func:`~.pooled_start.graph_classifier_from_pooled`)."""
        graph_classifier_from_pooled(self, weight)
        self.clear_eval_cache()
