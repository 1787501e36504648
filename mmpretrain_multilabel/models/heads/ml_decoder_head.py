"""ML-Decoder classification head (Ridnik et al. 2021), batched group FC."""
import copy
import math
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS

from ..utils.arg_checks import check_channels, check_divisible, check_dropout, check_ints
from .cosine_utils import CosineScoreMixin, Thr, cls_head_kwargs, l2_normalize
from .pooled_start import ml_decoder_from_pooled


class MLDecoderLayer(nn.Module):
    """The official ML-Decoder layer: a transformer decoder layer without
    self-attention (module names as in the original, for weight loading).

    Forward, as the original: ``tgt = norm1(tgt + dropout1(tgt))``;
    ``tgt = norm2(tgt + dropout2(cross_attn(tgt, memory)))``;
    ``tgt = norm3(tgt + dropout3(linear2(dropout(relu(linear1(tgt))))))``.

    Args:
        embed_dims (int): Model width D.
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden width of the feed-forward network.
        dropout (float): Dropout everywhere, attention included.
    """

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int, dropout: float):
        super().__init__()
        self.multihead_attn = nn.MultiheadAttention(
            embed_dims, num_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(embed_dims, ffn_dims)
        self.linear2 = nn.Linear(ffn_dims, embed_dims)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.norm3 = nn.LayerNorm(embed_dims)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor) -> torch.Tensor:
        """``tgt`` [B, L, D] queries, ``memory`` [B, N, D] tokens."""
        tgt = self.norm1(tgt + self.dropout1(tgt))
        # need_weights=False: PyTorch's fused attention; same result as the
        # original's default call, which also averages the attention maps.
        attn = self.multihead_attn(tgt, memory, memory, need_weights=False)[0]
        tgt = self.norm2(tgt + self.dropout2(attn))
        ffn = self.linear2(self.dropout(F.relu(self.linear1(tgt))))
        return self.norm3(tgt + self.dropout3(ffn))


def group_fc(h: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
             num_classes: int, normalized: bool = False) -> torch.Tensor:
    """Group fully-connected projection in one batched matmul.

    Group ``l`` maps its decoder output ``h[:, l]`` (D) to ``dup`` logits with
    ``weight[l]`` (D x dup); the ``L * dup`` outputs are flattened in group
    order and the first K kept, as the original's per-group loop does.

    Args:
        h (Tensor): Decoder outputs ``[B, L, D]``.
        weight (Tensor): ``[L, D, dup]``.
        bias (Tensor, optional): ``[K]``.
        num_classes (int): K.
        normalized (bool): Cosine: L2-normalise ``h[:, l]`` and every column
            ``weight[l, :, j]`` (the paper's AAM variant).

    Returns:
        Tensor: ``[B, K]`` logits (or cosines).
    """
    if normalized:
        h, weight = l2_normalize(h, dim=-1), l2_normalize(weight, dim=1)
    out = torch.bmm(h.transpose(0, 1), weight)  # [L, B, dup]
    out = out.transpose(0, 1).flatten(1)[:, :num_classes]
    return out if bias is None else out + bias


@MODELS.register_module()
class MLDecoderHead(CosineScoreMixin, MultiLabelClsHead):
    """ML-Decoder head: frozen label queries cross-attend to the feature map.

    `Ridnik et al., "ML-Decoder: Scalable and Versatile Classification Head"
    <https://arxiv.org/abs/2111.12933>`_, as used (``normalized=True``, with
    AAM) by `Prokofiev & Sovrasov 2022 <https://arxiv.org/abs/2209.06585>`_.

    Tokens ``[B, N, C]`` (or a map ``[B, C, H, W]`` flattened to them) ->
    ``Linear(C, D)`` -> activation -> ``num_layers`` decoder layers without
    self-attention (queries: ``num_groups`` random, frozen embeddings, a
    buffer, so no optimiser or hook can train them) -> group FC (each group
    gives ``ceil(K / L)`` outputs; the first K are kept). Initialisation as
    the original: PyTorch defaults, group weights xavier-normal, bias zero.

    Scores: ``normalized=False`` returns logits (``pred_score =
    sigmoid(logits)``); ``normalized=True`` L2-normalises each group output
    and each weight column, has no bias, returns cosines and reports
    ``sigmoid(s * cos)`` with ``s`` read from the loss, as
    ``MultiLabelCosineClsHead`` does.

    Args:
        num_classes (int): Number of classes K.
        in_channels (int): Channels C of the input map / tokens.
        num_groups (int, optional): Number of queries L; capped at K.
            Defaults to ``min(100, K)``.
        embed_dims (int): Decoder width D. Defaults to 768.
        num_heads (int): Attention heads. Defaults to 8.
        ffn_dims (int): Feed-forward width. Defaults to 2048.
        num_layers (int): Decoder layers. Defaults to 1.
        dropout (float): Decoder dropout. Defaults to 0.1.
        normalized (bool): Cosine group projection (for AAM). Defaults to
            False.
        act_cfg (dict, optional): Activation after the input projection:
            ReLU in the original, ``LeakyReLU(negative_slope=0.2)`` in the
            paper authors' AAM variant. None means ``dict(type='ReLU')``.
        loss (dict, optional): Loss config. None means MMPretrain's
            multilabel default ``dict(type='CrossEntropyLoss',
            use_sigmoid=True)``.
        thr (float | list[float] | str, optional): Threshold(s): one value,
            K values or a thresholds JSON file. Defaults to None (0.5 unless
            ``topk`` is set).
        topk (int, optional): Predict the top-k when ``thr`` is None.
        init_cfg (dict, optional): Extra init config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 num_groups: Optional[int] = None,
                 embed_dims: int = 768,
                 num_heads: int = 8,
                 ffn_dims: int = 2048,
                 num_layers: int = 1,
                 dropout: float = 0.1,
                 normalized: bool = False,
                 act_cfg: Optional[Dict] = None,
                 loss: Optional[Dict] = None,
                 thr: Thr = None,
                 topk: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        check_ints('MLDecoderHead', num_classes=num_classes, in_channels=in_channels,
                   embed_dims=embed_dims, num_heads=num_heads, ffn_dims=ffn_dims,
                   num_layers=num_layers, num_groups=1 if num_groups is None else num_groups)
        check_divisible('MLDecoderHead', embed_dims, num_heads)
        check_dropout('MLDecoderHead', dropout)
        super().__init__(**cls_head_kwargs(num_classes, loss, thr, topk, init_cfg))
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.num_groups = min(100 if num_groups is None else num_groups, num_classes)
        self.group_size = math.ceil(num_classes / self.num_groups)

        self.embed = nn.Linear(in_channels, embed_dims)
        self.act = MODELS.build(dict(type='ReLU') if act_cfg is None else act_cfg)
        self.register_buffer('query_embed', torch.randn(self.num_groups, embed_dims))
        layer = MLDecoderLayer(embed_dims, num_heads, ffn_dims, dropout)
        # Copies of one layer, as nn.TransformerDecoder builds them.
        self.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(num_layers))
        self.group_weight = nn.Parameter(
            torch.empty(self.num_groups, embed_dims, self.group_size))
        nn.init.xavier_normal_(self.group_weight)
        if normalized:
            self.group_bias = None
        else:
            self.group_bias = nn.Parameter(torch.zeros(num_classes))
        self._init_scores(normalized=normalized)

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """Decoder outputs ``[B, L, D]`` from the last stage's features."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() == 4:
            x = x.flatten(2).transpose(1, 2)
        elif x.dim() != 3:
            raise ValueError('MLDecoderHead expects a feature map [B, C, H, W] or tokens '
                             f'[B, N, C], got {tuple(x.shape)} (no pooling neck before it)')
        check_channels('MLDecoderHead', x, self.in_channels, dim=-1)
        memory = self.act(self.embed(x))
        h = self.query_embed.unsqueeze(0).expand(x.shape[0], -1, -1)
        for layer in self.layers:
            h = layer(h, memory)
        return h

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits, or cosines if ``normalized``, ``[B, K]``."""
        return group_fc(self.pre_logits(feats), self.group_weight, self.group_bias,
                        self.num_classes, self.normalized)

    def init_from_pooled_classifier(self, weight: torch.Tensor,
                                    bias: Optional[torch.Tensor] = None) -> None:
        """Start as the classifier ``weight`` (``[K, C]``) on the average-pooled
        input map: before training, the head ranks images as ``weight`` does
        (:func:`~.pooled_start.ml_decoder_from_pooled`)."""
        ml_decoder_from_pooled(self, weight, bias)
