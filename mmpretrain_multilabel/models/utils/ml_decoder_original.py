"""The original ML-Decoder head in its own layout: the reference that
``MLDecoderHead``, its converter (``tools/model_converters/
ml_decoder_to_mmpretrain.py``) and its benchmark are checked against.

ML-Decoder: Ridnik et al., "ML-Decoder: Scalable and Versatile
Classification Head", WACV 2023 (https://arxiv.org/abs/2111.12933); code
https://github.com/Alibaba-MIIL/ML_Decoder. Re-implemented from the structure
of its ``src_files/ml_decoder/ml_decoder.py``: sequence-first attention, the layers
in ``decoder.layers`` as ``nn.TransformerDecoder`` holds them (its forward is
a plain loop over them; recent PyTorch versions' forward expects a
``self_attn`` the original layer lacks), the parameters hung on ``decoder`` under the
original names (``embed_standart``, ``query_embed``, ``duplicate_pooling``,
``duplicate_pooling_bias``) and the group FC as a Python loop over groups.
``normalized`` follows the paper authors' cosine variant (per-group
normalisation inside the loop), without the bias (Prokofiev & Sovrasov 2022,
https://arxiv.org/abs/2209.06585).
"""
import copy
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

#: Original parameter name (under ``decoder.``) -> ``MLDecoderHead``'s; the
#: decoder layers (``layers.N.*``) keep their names.
HEAD_RENAMES = {
    'embed_standart.weight': 'embed.weight',
    'embed_standart.bias': 'embed.bias',
    'query_embed.weight': 'query_embed',
    'duplicate_pooling': 'group_weight',
    'duplicate_pooling_bias': 'group_bias',
}


def loop_group_fc(h: torch.Tensor, weight: torch.Tensor, num_classes: int,
                  bias: Optional[torch.Tensor] = None,
                  normalized: bool = False) -> torch.Tensor:
    """The original's group FC: one matmul per group into a zero tensor.

    Args:
        h (torch.Tensor): ``[B, G, D]`` decoder outputs.
        weight (torch.Tensor): ``[G, D, F]`` group projections.
        num_classes (int): K (the last ``G * F - K`` outputs are cut).
        bias (torch.Tensor, optional): ``[K]``, added at the end.
        normalized (bool): Cosine variant: ``h_i`` and the columns of
            ``w_i`` L2-normalised per group.

    Returns:
        torch.Tensor: ``[B, K]``.
    """
    out = torch.zeros(h.shape[0], h.shape[1], weight.shape[2], dtype=h.dtype, device=h.device)
    for i in range(h.shape[1]):
        h_i, w_i = h[:, i, :], weight[i]
        if normalized:
            h_i, w_i = F.normalize(h_i, dim=1), F.normalize(w_i, dim=0)
        out[:, i, :] = h_i @ w_i
    out = out.flatten(1)[:, :num_classes]
    return out if bias is None else out + bias


class OriginalDecoderLayer(nn.Module):

    def __init__(self, d_model, nhead=8, dim_feedforward=2048, dropout=0.1):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)
        self.multihead_attn = nn.MultiheadAttention(d_model, nhead, dropout=dropout)
        self.linear1 = nn.Linear(d_model, dim_feedforward)
        self.linear2 = nn.Linear(dim_feedforward, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)

    def forward(self, tgt, memory):
        tgt = tgt + self.dropout1(tgt)
        tgt = self.norm1(tgt)
        tgt2 = self.multihead_attn(tgt, memory, memory)[0]
        tgt = tgt + self.dropout2(tgt2)
        tgt = self.norm2(tgt)
        tgt2 = self.linear2(self.dropout(F.relu(self.linear1(tgt))))
        tgt = tgt + self.dropout3(tgt2)
        return self.norm3(tgt)


class OriginalMLDecoder(nn.Module):
    """``state_dict()`` keys: ``decoder.embed_standart.*``, ``decoder.layers.0.*``,
    ``decoder.query_embed.weight``, ``decoder.duplicate_pooling(_bias)``."""

    def __init__(self, num_classes, num_of_groups=-1, decoder_embedding=768,
                 initial_num_features=2048, num_layers=1, normalized=False):
        super().__init__()
        groups = 100 if num_of_groups < 0 else num_of_groups
        groups = min(groups, num_classes)
        layer = OriginalDecoderLayer(decoder_embedding)
        self.decoder = nn.Module()
        self.decoder.layers = nn.ModuleList(copy.deepcopy(layer) for _ in range(num_layers))
        self.decoder.embed_standart = nn.Linear(initial_num_features, decoder_embedding)
        self.decoder.query_embed = nn.Embedding(groups, decoder_embedding)
        self.decoder.query_embed.requires_grad_(False)
        self.num_classes = num_classes
        self.duplicate_factor = int(num_classes / groups + 0.999)
        assert self.duplicate_factor == math.ceil(num_classes / groups)
        self.decoder.duplicate_pooling = nn.Parameter(
            torch.empty(groups, decoder_embedding, self.duplicate_factor))
        self.decoder.duplicate_pooling_bias = nn.Parameter(torch.zeros(num_classes))
        nn.init.xavier_normal_(self.decoder.duplicate_pooling)
        self.normalized = normalized

    def forward(self, x):
        tokens = x.flatten(2).transpose(1, 2) if x.dim() == 4 else x
        memory = F.relu(self.decoder.embed_standart(tokens))
        bs = memory.shape[0]
        tgt = self.decoder.query_embed.weight.unsqueeze(1).expand(-1, bs, -1)
        memory = memory.transpose(0, 1)
        for layer in self.decoder.layers:
            tgt = layer(tgt, memory)
        h = tgt.transpose(0, 1)  # [B, L, D]
        bias = None if self.normalized else self.decoder.duplicate_pooling_bias
        return loop_group_fc(h, self.decoder.duplicate_pooling, self.num_classes, bias,
                             self.normalized)


def original_from_head(head: nn.Module) -> OriginalMLDecoder:
    """An :class:`OriginalMLDecoder` with the weights of an ``MLDecoderHead``
    (the converter's renaming backwards), in the head's mode and device.

    Raises:
        ValueError: The head's settings have no original counterpart (an
            activation other than ReLU, other than 8 attention heads or
            2048-wide feed-forward layers).
    """
    layer = head.layers[0]
    if (type(head.act).__name__ != 'ReLU' or layer.linear1.out_features != 2048
            or layer.multihead_attn.num_heads != 8):
        raise ValueError('the original ML-Decoder has a ReLU embedding, 8 attention heads '
                         'and 2048-wide feed-forward layers')
    ref = OriginalMLDecoder(head.num_classes, head.num_groups, head.embed.out_features,
                            head.in_channels, len(head.layers), head.normalized)
    state = {}
    for name, value in head.state_dict().items():
        original = next((k for k, v in HEAD_RENAMES.items() if v == name), name)
        state['decoder.' + original] = value
    if head.normalized:
        state['decoder.duplicate_pooling_bias'] = ref.decoder.duplicate_pooling_bias.detach()
    ref.load_state_dict(state)
    return ref.to(head.group_weight.device).train(head.training)
