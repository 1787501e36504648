"""Convert an original ML-Decoder checkpoint to this project's MMPretrain layout.

Source: a checkpoint of https://github.com/Alibaba-MIIL/ML_Decoder
(``{'model': state_dict}``, ``{'state_dict': ...}`` or a bare state dict):
TResNet keys ``body.*`` and the head ``head.decoder.*`` (``embed_standart``,
``layers.N.*``, ``query_embed``, ``duplicate_pooling``,
``duplicate_pooling_bias``).

Output: ``{'state_dict': ..., 'meta': ...}`` for
``ImageClassifier(backbone=TIMMBackbone(model_name=...), head=MLDecoderHead(...))``
with keys ``backbone.timm_model.*`` and ``head.*``. The ML-Decoder repo's
``TResnetL`` is timm's ``tresnet_v2_l`` (layers 3-4-23-3, bottlenecks in every
stage, 2048 channels), not timm's ``tresnet_l`` (TResNet-L v1: 4-5-18-3, width
1.2, 2432 channels), hence the default ``--timm-model``. Backbone keys are
renamed with timm's own TResNet filter (in-place ABN weights become
``|w| + 1e-5``) and checked against the timm model's keys and shapes; keys
that do not map are listed and left out.

Usage::

    python tools/model_converters/ml_decoder_to_mmpretrain.py SRC DST \
        [--timm-model tresnet_v2_l] [--normalized]

``--normalized`` writes a checkpoint for ``MLDecoderHead(normalized=True)``
(cosine group projection, no bias): the published weights were trained
with logits, so this is an initialisation for AAM fine-tuning, as in the
paper.
"""
import argparse
import os
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import torch

from mmpretrain_multilabel.models.utils.ml_decoder_original import HEAD_RENAMES

HEAD_PREFIXES = ('head.decoder.', 'fc.decoder.')  # TResNet / ResNet-50 variants
LAYER_KEY = re.compile(r'^layers\.(\d+)\.(.+)$')

StateDict = Dict[str, torch.Tensor]


def unwrap(checkpoint: dict) -> StateDict:
    """The state dict inside a checkpoint, without a DDP ``module.`` prefix."""
    for key in ('model', 'state_dict'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in checkpoint.items())


def convert_head(state_dict: StateDict, normalized: bool = False
                 ) -> Tuple[StateDict, List[str], dict]:
    """Rename ML-Decoder head keys to ``MLDecoderHead``'s (``head.*``).

    Returns:
        tuple: (converted keys, source head keys that were not converted,
        ``MLDecoderHead`` arguments inferred from the shapes).
    """
    out, skipped = OrderedDict(), []
    for key, value in state_dict.items():
        prefix = next((p for p in HEAD_PREFIXES if key.startswith(p)), None)
        if prefix is None:
            continue
        name = key[len(prefix):]
        if name in HEAD_RENAMES:
            new = HEAD_RENAMES[name]
        elif LAYER_KEY.match(name):
            new = name
        else:
            skipped.append(key)
            continue
        if new == 'group_bias' and normalized:
            skipped.append(key + ' (normalized head has no bias)')
            continue
        out['head.' + new] = value
    if 'head.group_weight' not in out or 'head.embed.weight' not in out:
        raise ValueError('No ML-Decoder head found: expected keys '
                         f"{[p + 'duplicate_pooling' for p in HEAD_PREFIXES]} and "
                         "'...embed_standart.weight'")
    num_groups, embed_dims, _ = out['head.group_weight'].shape
    bias = next((v for k, v in state_dict.items() if k.endswith('decoder.duplicate_pooling_bias')),
                None)
    layers = {int(LAYER_KEY.match(k[len('head.'):]).group(1)) for k in out
              if LAYER_KEY.match(k[len('head.'):])}
    ffn = out.get('head.layers.0.linear1.weight')
    args = dict(
        num_classes=int(bias.shape[0]) if bias is not None else None,
        in_channels=int(out['head.embed.weight'].shape[1]),
        num_groups=int(num_groups), embed_dims=int(embed_dims),
        ffn_dims=int(ffn.shape[0]) if ffn is not None else None,
        num_layers=len(layers), normalized=normalized)
    return out, skipped, args


def convert_backbone(state_dict: StateDict, timm_model: str = 'tresnet_v2_l'
                     ) -> Tuple[StateDict, List[str], List[str]]:
    """Map backbone keys to ``TIMMBackbone(model_name=timm_model)``'s.

    Returns:
        tuple: (converted keys ``backbone.timm_model.*``, source keys that
        do not map (name or shape), timm keys with no source).
    """
    import timm
    source = OrderedDict((k, v) for k, v in state_dict.items()
                         if not any(k.startswith(p) for p in HEAD_PREFIXES))
    if timm_model.startswith('tresnet'):
        from timm.models.tresnet import checkpoint_filter_fn
        renamed = checkpoint_filter_fn(dict(source), None)
        # the filter keeps the order; pair old and new names for the report
        pairs = list(zip(source.keys(), renamed.keys()))
    else:
        renamed, pairs = dict(source), [(k, k) for k in source]
    with torch.device('meta'):
        model = timm.create_model(timm_model, pretrained=False, num_classes=0)
    target = model.state_dict()
    out, unmapped = OrderedDict(), []
    for old, new in pairs:
        value = renamed[new]
        if new in target and tuple(target[new].shape) == tuple(value.shape):
            out['backbone.timm_model.' + new] = value
        else:
            why = 'no such key' if new not in target else \
                f'shape {tuple(value.shape)} != {tuple(target[new].shape)}'
            unmapped.append(f'{old} -> {new} ({why})')
    missing = []
    for key in target:
        if 'backbone.timm_model.' + key in out:
            continue
        if key.endswith('num_batches_tracked'):  # in-place ABN has no counter
            out['backbone.timm_model.' + key] = torch.zeros((), dtype=torch.long)
        else:
            missing.append(key)
    return out, unmapped, missing


def convert(checkpoint: dict, timm_model: str = 'tresnet_v2_l', normalized: bool = False
            ) -> Tuple[StateDict, dict]:
    """Convert a whole checkpoint; returns (state dict, report)."""
    state_dict = unwrap(checkpoint)
    head, head_skipped, head_args = convert_head(state_dict, normalized)
    backbone, unmapped, missing = convert_backbone(state_dict, timm_model)
    report = dict(head_args=head_args, head_skipped=head_skipped,
                  backbone_unmapped=unmapped, backbone_missing=missing,
                  num_backbone=len(backbone), num_head=len(head), timm_model=timm_model)
    return OrderedDict(list(backbone.items()) + list(head.items())), report


def main(argv: Optional[List[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='original ML-Decoder checkpoint')
    parser.add_argument('dst', help='output MMPretrain checkpoint')
    parser.add_argument('--timm-model', default='tresnet_v2_l',
                        help='timm model name of the backbone (default: tresnet_v2_l)')
    parser.add_argument('--normalized', action='store_true',
                        help='for MLDecoderHead(normalized=True): drop the bias')
    args = parser.parse_args(argv)
    checkpoint = torch.load(args.src, map_location='cpu')
    state_dict, report = convert(checkpoint, args.timm_model, args.normalized)
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    torch.save(dict(state_dict=state_dict,
                    meta=dict(converted_from=os.path.basename(args.src), **report)), args.dst)
    head_args = ', '.join(f'{k}={v!r}' for k, v in report['head_args'].items() if v is not None)
    print(f'wrote {len(state_dict)} tensors to {args.dst}\n'
          f"backbone=dict(type='TIMMBackbone', model_name='{args.timm_model}')\n"
          f"head=dict(type='MLDecoderHead', {head_args})")
    for title, items in [('head keys not converted', report['head_skipped']),
                         ('backbone keys not mapped', report['backbone_unmapped']),
                         ('timm keys without a source', report['backbone_missing'])]:
        if items:
            print(f'{title} ({len(items)}):\n  ' + '\n  '.join(items))
    return report


if __name__ == '__main__':
    main()
