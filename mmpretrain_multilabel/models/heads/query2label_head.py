"""Query2Label classification head (Liu et al. 2021): learnable label
queries decode the feature map with a small transformer."""
import copy
import math
from typing import Dict, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmpretrain.models.heads import MultiLabelClsHead
from mmpretrain.registry import MODELS

from ..utils.arg_checks import check_channels, check_divisible, check_dropout, check_ints
from .cosine_utils import CosineScoreMixin, Thr, cls_head_kwargs, l2_normalize
from .pooled_start import query2label_from_pooled


def sine_position_encoding(height: int, width: int, embed_dims: int,
                           temperature: float = 10000., device=None,
                           dtype=torch.float32) -> torch.Tensor:
    """DETR's normalised 2-D sine position encoding, as Q2L uses it.

    Row and column indices ``1..H`` / ``1..W`` are scaled to ``(0, 2 pi]``;
    each gets ``embed_dims / 2`` channels ``sin, cos, sin, ...`` of
    ``index / temperature ** (2 (i // 2) / (embed_dims / 2))``; the row
    channels come first.

    Returns:
        Tensor: ``[H * W, embed_dims]`` in row-major (``flatten``) order.
    """
    num_feats = embed_dims // 2
    eps, scale = 1e-6, 2 * math.pi
    y = torch.arange(1, height + 1, device=device, dtype=torch.float32)
    x = torch.arange(1, width + 1, device=device, dtype=torch.float32)
    y = y / (height + eps) * scale
    x = x / (width + eps) * scale
    i = torch.arange(num_feats, device=device, dtype=torch.float32)
    dim_t = temperature**(2 * torch.div(i, 2, rounding_mode='floor') / num_feats)

    def encode(v: torch.Tensor) -> torch.Tensor:  # [L] -> [L, num_feats]
        v = v[:, None] / dim_t
        return torch.stack((v[:, 0::2].sin(), v[:, 1::2].cos()), dim=2).flatten(1)

    pos_y = encode(y)[:, None, :].expand(height, width, num_feats)
    pos_x = encode(x)[None, :, :].expand(height, width, num_feats)
    return torch.cat((pos_y, pos_x), dim=2).reshape(height * width, embed_dims).to(dtype)


def group_wise_linear(h: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor],
                      normalized: bool = False) -> torch.Tensor:
    """Q2L's GroupWiseLinear in one einsum: class ``k``'s score is its query
    output ``h[:, k]`` dotted with its own weight ``weight[k]`` (+ bias).

    Args:
        h (Tensor): Decoder outputs ``[B, K, D]``.
        weight (Tensor): ``[K, D]``.
        bias (Tensor, optional): ``[K]``.
        normalized (bool): Cosine: L2-normalise ``h[:, k]`` and ``weight[k]``.

    Returns:
        Tensor: ``[B, K]``.
    """
    if normalized:
        h, weight = l2_normalize(h, dim=-1), l2_normalize(weight, dim=-1)
    out = torch.einsum('bkd,kd->bk', h, weight.to(h.dtype))
    return out if bias is None else out + bias


def _ffn(embed_dims: int, ffn_dims: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.Linear(embed_dims, ffn_dims), nn.ReLU(inplace=True),
                         nn.Dropout(dropout), nn.Linear(ffn_dims, embed_dims))


class Q2LLayer(nn.Module):
    """DETR's post-norm transformer layer: attention, then the FFN, each with
    a residual and a LayerNorm. The encoder uses it as self-attention over
    the tokens; Q2L's decoder as cross-attention from the label queries to the
    tokens (the official code removes the self-attention among queries).
    Position encodings are added to queries and keys, not to values.

    Args:
        embed_dims (int): Width D.
        num_heads (int): Attention heads.
        ffn_dims (int): Hidden width of the FFN.
        dropout (float): Dropout of attention weights, FFN and residuals.
    """

    def __init__(self, embed_dims: int, num_heads: int, ffn_dims: int, dropout: float):
        super().__init__()
        self.attn = nn.MultiheadAttention(embed_dims, num_heads, dropout=dropout,
                                          batch_first=True)
        self.ffn = _ffn(embed_dims, ffn_dims, dropout)
        self.norm1 = nn.LayerNorm(embed_dims)
        self.norm2 = nn.LayerNorm(embed_dims)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, query: torch.Tensor, key: torch.Tensor,
                value: torch.Tensor) -> torch.Tensor:
        """``x`` [B, L, D] the residual stream; ``query`` is ``x`` plus its
        position encoding, ``key``/``value`` [B, N, D] what it attends to."""
        attn = self.attn(query, key, value, need_weights=False)[0]
        x = self.norm1(x + self.dropout1(attn))
        return self.norm2(x + self.dropout2(self.ffn(x)))


@MODELS.register_module()
class Query2LabelHead(CosineScoreMixin, MultiLabelClsHead):
    """Query2Label: one learnable query per label decodes the feature map.

    `Liu et al., "Query2Label: A Simple Transformer Way to Multi-Label
    Classification" <https://arxiv.org/abs/2107.10834>`_, the peer of
    Tables 2-5 of `Prokofiev & Sovrasov 2022
    <https://arxiv.org/abs/2209.06585>`_.

    Feature map ``[B, C, H, W]`` -> 1x1 projection to D (a linear layer on
    the tokens) -> ``num_encoder_layers`` encoder layers (0 uses the
    projected tokens as memory) -> ``num_decoder_layers`` decoder layers
    whose queries start at zero and carry the K learnable label embeddings
    as query position (DETR style), with the 2-D sine position encoding of
    the map added to the keys -> LayerNorm -> group-wise linear: class k's
    score is its query output dotted with its own weight vector (+ bias).
    Initialisation as the original: transformer matrices xavier-uniform,
    label embeddings N(0, 1), group-wise weights and bias uniform in
    ``+-1/sqrt(D)``.

    Scores: ``normalized=False`` returns logits (``sigmoid(logits)``);
    ``normalized=True`` L2-normalises each query output and weight vector,
    has no bias, returns cosines for a cosine loss (AAM) and reports
    ``sigmoid(s * cos)`` with ``s`` read from the loss.

    Args:
        num_classes (int): Number of classes K (= number of queries).
        in_channels (int): Channels C of the feature map.
        embed_dims (int): Transformer width D; a multiple of 4 (sine
            encoding) and of ``num_heads``. Defaults to 2048 (Q2L with a
            2048-channel ResNet; the paper authors use D = C).
        num_heads (int): Attention heads. Defaults to 4.
        ffn_dims (int): FFN hidden width. Defaults to 8192 (Q2L).
        num_encoder_layers (int): Encoder layers, >= 0. Defaults to 1.
        num_decoder_layers (int): Decoder layers, >= 1. Defaults to 2.
        dropout (float): Transformer dropout. Defaults to 0.1.
        normalized (bool): Cosine group-wise output (for AAM). Defaults to
            False.
        loss (dict, optional): Loss config. None means
            ``dict(type='CrossEntropyLoss', use_sigmoid=True)``.
        thr (float | list[float] | str, optional): Threshold(s): one value,
            K values or a thresholds JSON file. Defaults to None (0.5 unless
            ``topk`` is set).
        topk (int, optional): Predict the top-k when ``thr`` is None.
        init_cfg (dict, optional): Extra init config. Defaults to None.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 embed_dims: int = 2048,
                 num_heads: int = 4,
                 ffn_dims: int = 8192,
                 num_encoder_layers: int = 1,
                 num_decoder_layers: int = 2,
                 dropout: float = 0.1,
                 normalized: bool = False,
                 loss: Optional[Dict] = None,
                 thr: Thr = None,
                 topk: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        check_ints('Query2LabelHead', num_classes=num_classes, in_channels=in_channels,
                   embed_dims=embed_dims, num_heads=num_heads, ffn_dims=ffn_dims,
                   num_decoder_layers=num_decoder_layers)
        check_ints('Query2LabelHead', minimum=0, num_encoder_layers=num_encoder_layers)
        check_divisible('Query2LabelHead', embed_dims, num_heads)
        if embed_dims % 4:
            raise ValueError(f'Query2LabelHead: embed_dims={embed_dims} must be a multiple of 4 '
                             '(sine position encoding)')
        check_dropout('Query2LabelHead', dropout)
        super().__init__(**cls_head_kwargs(num_classes, loss, thr, topk, init_cfg))
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.embed_dims = embed_dims

        self.input_proj = nn.Linear(in_channels, embed_dims)
        self.query_embed = nn.Embedding(num_classes, embed_dims)
        enc = Q2LLayer(embed_dims, num_heads, ffn_dims, dropout)
        dec = Q2LLayer(embed_dims, num_heads, ffn_dims, dropout)
        self.encoder = nn.ModuleList(copy.deepcopy(enc) for _ in range(num_encoder_layers))
        self.decoder = nn.ModuleList(copy.deepcopy(dec) for _ in range(num_decoder_layers))
        self.decoder_norm = nn.LayerNorm(embed_dims)
        for module in (self.encoder, self.decoder):  # the original's _reset_parameters
            for p in module.parameters():
                if p.dim() > 1:
                    nn.init.xavier_uniform_(p)

        bound = embed_dims**-0.5
        self.fc_weight = nn.Parameter(torch.empty(num_classes, embed_dims).uniform_(-bound, bound))
        if normalized:
            self.fc_bias = None
        else:
            self.fc_bias = nn.Parameter(torch.empty(num_classes).uniform_(-bound, bound))
        self._init_scores(normalized=normalized)

    def pre_logits(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        """Decoder outputs ``[B, K, D]`` from the last stage's feature map."""
        x = feats if isinstance(feats, torch.Tensor) else feats[-1]
        if x.dim() != 4:
            raise ValueError('Query2LabelHead expects a feature map [B, C, H, W] (no pooling '
                             f'neck before it), got {tuple(x.shape)}')
        check_channels('Query2LabelHead', x, self.in_channels)
        b, _, h, w = x.shape
        memory = self.input_proj(x.flatten(2).transpose(1, 2))  # [B, HW, D]
        pos = sine_position_encoding(h, w, self.embed_dims, device=x.device,
                                     dtype=memory.dtype)
        for layer in self.encoder:
            memory = layer(memory, memory + pos, memory + pos, memory)
        query_pos = self.query_embed.weight.to(memory.dtype)
        tgt = memory.new_zeros(b, self.num_classes, self.embed_dims)
        for layer in self.decoder:
            tgt = layer(tgt, tgt + query_pos, memory + pos, memory)
        return self.decoder_norm(tgt)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits, or cosines if ``normalized``, ``[B, K]``."""
        return group_wise_linear(self.pre_logits(feats), self.fc_weight, self.fc_bias,
                                 self.normalized)

    def init_from_pooled_classifier(self, weight: torch.Tensor,
                                    bias: Optional[torch.Tensor] = None) -> None:
        """Start as the classifier ``weight`` (``[K, C]``) on the average-pooled
        map (:func:`~.pooled_start.query2label_from_pooled`)."""
        query2label_from_pooled(self, weight, bias)
