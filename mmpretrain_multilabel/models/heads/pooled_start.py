"""Start an attention or graph head as a given classifier on pooled features.

A classifier ``W`` (``[K, C]``) on the globally average-pooled feature map
``g = mean_t x_t`` ranks images before any training, e.g. the ImageNet
classifier transferred to the dataset's class names
(:class:`~mmpretrain_multilabel.engine.hooks.ClassifierTransferHook`). The
heads of the paper (arXiv 2209.06585) that do not pool first, ML-Decoder (with
or without the GAT re-weighting before it) and ML-GCN's graph classifier,
start at random instead. The functions here set their parameters so that
their forward, before any training, ranks the images of each class exactly as
``W g`` does (ML-Decoder) or scores ``W v`` on its own pooled feature
(ML-GCN), keeping the architecture and the ``state_dict`` keys: the
"transfer carried through the head's own layers".

ML-Decoder (Ridnik et al. 2021, https://arxiv.org/abs/2111.12933) carries
``W g`` through its layers as follows (``D`` the decoder width, ``K`` classes,
``2K <= D``):

* the input projection writes ``W x_t`` to dimensions ``[0, K)`` and
  ``-W x_t`` to ``[K, 2K)``; for the odd-symmetric part of ReLU / LeakyReLU
  with slope ``a``, ``act(z) - act(-z) = (1 + a) z``, so the difference of
  the two halves is linear in ``x_t`` whatever its sign;
* the keys are zero, so every query attends uniformly: the attention is the
  token mean, i.e. global average pooling; the values are the identity and the
  output projection forms ``+-(mean act(W x) - mean act(-W x)) / (1 + a)
  = +-W g``;
* the first LayerNorm passes the (image-independent) query only to the other
  ``D - 2K`` dimensions, scaled by ``query_scale``; the second normalises
  ``[W g, -W g, query]``; the feed-forward block starts at zero (its last
  linear layer zero, as zero-initialised residual branches);
* the group projection of class ``k`` is ``e_k - e_{K + k}``, which reads
  ``2 (W g)_k / sigma_k(x)``, where ``sigma_k(x)`` is the second
  LayerNorm's scale, ``sqrt((2 |W g|^2 + c_k) / D)`` with ``c_k`` the
  (image-independent) energy of query ``k`` there.

With ``query_scale = 0`` the score is ``(W g)_k / |W g|``: a cosine in the
classifier's row space (the cosine head's ``W_k g / |g|`` normalises by the
whole feature instead); a large ``query_scale`` makes ``sigma`` nearly
constant and the score nearly ``(W g)_k``. But at ``query_scale = 0`` the
attention starts at a saddle point: the queries that reach it are zero as
well as the keys, so neither projection gets a gradient, and the attention
stays the token mean until the first LayerNorm's weights have grown (on
coco319 the head then needed twice the epochs to pass GAP + cosine). The
default, ``query_scale = 1`` (the LayerNorm's own initial weight), passes the
label queries on, so the keys learn from the first step; the ranking is the
one above with ``c_k > 0``, between the two extremes.
"""
from typing import Optional

import torch
from torch import nn


def odd_slope(act: nn.Module) -> float:
    """Negative slope ``a`` of a ReLU (0) or LeakyReLU activation, for which
    ``act(z) - act(-z) = (1 + a) z``.

    Raises:
        TypeError: For another activation (the identity does not hold).
    """
    if isinstance(act, nn.LeakyReLU):
        return float(act.negative_slope)
    if isinstance(act, nn.ReLU):
        return 0.
    raise TypeError(f'a pooled-classifier start needs a ReLU or LeakyReLU after the input '
                    f'projection, got {type(act).__name__}')


def _set(param: torch.Tensor, value: torch.Tensor) -> None:
    param.data.copy_(value.to(param.dtype))


@torch.no_grad()
def ml_decoder_from_pooled(head: nn.Module, weight: torch.Tensor,
                           bias: Optional[torch.Tensor] = None,
                           query_scale: float = 1.,
                           logit_scale: float = 10.) -> None:
    """Set an :class:`~mmpretrain_multilabel.models.heads.MLDecoderHead` so
    that it ranks images as the pooled classifier ``weight`` does.

    Args:
        head (MLDecoderHead): The head, changed in place.
        weight (Tensor): ``[K, C]`` classifier on the average-pooled input
            map (already divided by any fixed channel scale before the head).
        bias (Tensor, optional): ``[K]``; only a plain (not normalised) head
            has a bias, which is set to it.
        query_scale (float): Weight of the label queries beside the
            carried scores in the second LayerNorm; above 0, the
            attention learns from the first step (see the module's
            docstring). Defaults to 1.
        logit_scale (float): Plain head only: the logits start as
            ``logit_scale * (W g)_k / |W g|`` (+ bias), on the scale of a
            cosine classifier's ``s * cos``. Defaults to 10.

    Raises:
        ValueError: If ``2K`` exceeds the decoder width or the shapes differ.
    """
    k, c = head.num_classes, head.in_channels
    d = head.embed.out_features
    if tuple(weight.shape) != (k, c):
        raise ValueError(f'MLDecoderHead start: the classifier is {tuple(weight.shape)}, the '
                         f'head takes {c} channels and {k} classes')
    if 2 * k > d:
        raise ValueError(f'MLDecoderHead start: {k} classes need 2K = {2 * k} decoder '
                         f'dimensions, the head has embed_dims={d}')
    slope = odd_slope(head.act)
    w = weight.detach().float()
    if head.normalized:  # every class weighs alike in the carried vector
        w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    eye = torch.eye(d)
    _set(head.embed.weight, torch.cat([w, -w, w.new_zeros(d - 2 * k, c)]))
    _set(head.embed.bias, torch.zeros(d))
    carry = torch.zeros(d, d)  # [m+; m-] -> [W g; -W g]
    idx = torch.arange(k)
    for row, sign in ((idx, 1.), (idx + k, -1.)):
        carry[row, idx] = sign / (1 + slope)
        carry[row, idx + k] = -sign / (1 + slope)
    for i, layer in enumerate(head.layers):
        attn = layer.multihead_attn
        in_w, in_b = attn.in_proj_weight, attn.in_proj_bias
        in_w.data[d:2 * d] = 0  # keys: uniform attention, the token mean
        in_b.data[d:2 * d] = 0
        in_w.data[2 * d:] = eye  # values: the tokens
        in_b.data[2 * d:] = 0
        _set(attn.out_proj.weight, carry if i == 0 else torch.zeros(d, d))
        _set(attn.out_proj.bias, torch.zeros(d))
        _set(layer.linear2.weight, torch.zeros_like(layer.linear2.weight))
        _set(layer.linear2.bias, torch.zeros(d))
        for norm in (layer.norm1, layer.norm2, layer.norm3):
            _set(norm.weight, torch.ones(d))
            _set(norm.bias, torch.zeros(d))
    first = head.layers[0].norm1.weight
    first.data[:2 * k] = 0  # the query only where the scores are not
    first.data[2 * k:] = query_scale
    group = torch.zeros_like(head.group_weight)  # [L, D, dup]
    cls = torch.arange(k)
    scale = 1. if head.normalized else logit_scale / (2 * d)**0.5
    group[cls // head.group_size, cls, cls % head.group_size] = scale
    group[cls // head.group_size, cls + k, cls % head.group_size] = -scale
    _set(head.group_weight, group)
    if head.group_bias is not None:
        _set(head.group_bias, torch.zeros(k) if bias is None else bias.float())


@torch.no_grad()
def graph_basis(head: nn.Module) -> torch.Tensor:
    """``A H``, ``[K, hidden]``, of an
    :class:`~mmpretrain_multilabel.models.heads.MLGCNHead`: its classifiers
    ``A H W2`` are linear in the last graph layer's weight ``W2``; this is
    them with ``W2`` the identity (the head is left as it was)."""
    last = head.layers[-1]
    hidden, out = last.weight.shape
    saved = last.weight.data
    last.weight.data = torch.eye(hidden, dtype=saved.dtype, device=saved.device)
    last.out_channels = hidden
    try:
        return head.compute_classifiers().float()
    finally:
        last.weight.data = saved
        last.out_channels = out


@torch.no_grad()
def graph_classifier_from_pooled(head: nn.Module, weight: torch.Tensor) -> None:
    """Fit the last graph layer of an
    :class:`~mmpretrain_multilabel.models.heads.MLGCNHead` so that its
    classifier ``A H W2`` equals ``weight`` (the minimum-norm solution; exact
    when ``A H``, ``[K, hidden]``, has rank K).

    Args:
        head (MLGCNHead): The head, changed in place.
        weight (Tensor): ``[K, C]`` target classifier.
    """
    k, c = head.num_classes, head.in_channels
    if tuple(weight.shape) != (k, c):
        raise ValueError(f'MLGCNHead start: the classifier is {tuple(weight.shape)}, the '
                         f'head takes {c} channels and {k} classes')
    _set(head.layers[-1].weight, torch.linalg.pinv(graph_basis(head)) @ weight.detach().float())


@torch.no_grad()
def query2label_from_pooled(head: nn.Module, weight: torch.Tensor,
                            bias: Optional[torch.Tensor] = None,
                            token_offset: float = 1.,
                            logit_scale: float = 10.) -> None:
    """Set a :class:`~mmpretrain_multilabel.models.heads.Query2LabelHead` so
    that it ranks images as the pooled classifier ``weight`` does, as
    :func:`ml_decoder_from_pooled` does for ML-Decoder.

    The input projection writes ``[W x_t, -W x_t]`` and a constant
    zero-mean pattern of amplitude ``token_offset`` to the other dimensions;
    the encoder's attention and feed-forward blocks start at zero, so its
    per-token LayerNorms divide token ``t`` by
    ``sqrt((token_offset^2 (D - 2K) + 2 |W x_t|^2) / D)``: the pattern keeps
    that scale nearly the same for every token, so the token mean ranks as
    ``W g`` does (exact with no encoder layer; the larger the offset, the
    closer). The first decoder layer attends uniformly (the token mean) and
    keeps only ``[W g, -W g]``; later decoder layers and all feed-forward
    blocks start at zero; the group-wise linear layer of class ``k`` is
    ``e_k - e_{K+k}``. Scores: ``(W g)_k / |W g|`` (cosine head), times
    ``logit_scale`` plus ``bias`` (plain head).

    The offset is a trade-off, and a large one is harmful: the decoder's
    queries start at zero, so its first LayerNorm normalises the carried
    ``[W g, -W g]``, which the encoder has divided by about
    ``token_offset``; every gradient upstream of it is multiplied by about
    ``token_offset``. On coco319 (EfficientNet-Lite0, ``D = 1280``, the
    fitted start; ``|W x_t|`` median 7, i.e. 0.37 per carried dimension)
    the largest head gradient of the first batch is about ``80 x
    token_offset`` (80,000 at 1e3, against 84 at 1), while the start ranks
    the held-out photos alike (41.8 at 1e3, 41.9 at 1, 41.3 at 0, where
    the small tokens are amplified instead). Hence 1: the pattern about as
    large as the carried dimensions.

    Args:
        head (Query2LabelHead): The head, changed in place.
        weight (Tensor): ``[K, C]`` classifier on the average-pooled map.
        bias (Tensor, optional): ``[K]``, plain head only.
        token_offset (float): Amplitude of the constant token pattern.
            Defaults to 1.
        logit_scale (float): Plain head: scale of the starting logits.
            Defaults to 10.
    """
    k, c, d = head.num_classes, head.in_channels, head.embed_dims
    if tuple(weight.shape) != (k, c):
        raise ValueError(f'Query2LabelHead start: the classifier is {tuple(weight.shape)}, '
                         f'the head takes {c} channels and {k} classes')
    if 2 * k + 2 > d:
        raise ValueError(f'Query2LabelHead start: {k} classes need 2K + 2 = {2 * k + 2} '
                         f'dimensions, the head has embed_dims={d}')
    w = weight.detach().float()
    if head.normalized:
        w = w / w.norm(dim=1, keepdim=True).clamp_min(1e-12)
    pattern = torch.ones(d - 2 * k)
    pattern[1::2] = -1  # zero mean: D - 2K is even
    _set(head.input_proj.weight, torch.cat([w, -w, w.new_zeros(d - 2 * k, c)]))
    _set(head.input_proj.bias, torch.cat([torch.zeros(2 * k), token_offset * pattern]))
    keep = torch.zeros(d, d)
    keep[:2 * k, :2 * k] = torch.eye(2 * k)
    for i, layer in enumerate(list(head.encoder) + list(head.decoder)):
        attn = layer.attn
        attn.in_proj_weight.data[d:2 * d] = 0  # keys: uniform attention
        attn.in_proj_bias.data[d:2 * d] = 0
        attn.in_proj_weight.data[2 * d:] = torch.eye(d)
        attn.in_proj_bias.data[2 * d:] = 0
        first_decoder = i == len(head.encoder)
        _set(attn.out_proj.weight, keep if first_decoder else torch.zeros(d, d))
        _set(attn.out_proj.bias, torch.zeros(d))
        _set(layer.ffn[-1].weight, torch.zeros_like(layer.ffn[-1].weight))
        _set(layer.ffn[-1].bias, torch.zeros(d))
        for norm in (layer.norm1, layer.norm2):
            _set(norm.weight, torch.ones(d))
            _set(norm.bias, torch.zeros(d))
    _set(head.decoder_norm.weight, torch.ones(d))
    _set(head.decoder_norm.bias, torch.zeros(d))
    fc = torch.zeros(k, d)
    scale = 1. if head.normalized else logit_scale / (2 * d)**0.5
    fc[torch.arange(k), torch.arange(k)] = scale
    fc[torch.arange(k), torch.arange(k) + k] = -scale
    _set(head.fc_weight, fc)
    if head.fc_bias is not None:
        _set(head.fc_bias, torch.zeros(k) if bias is None else bias.float())
