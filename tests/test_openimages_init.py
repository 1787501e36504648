"""Starting a model from a pre-training checkpoint: the reporting ``Pretrained``
initialiser (keys loaded / skipped / missing / mismatched), and the public OpenImages
ML-Decoder release (TResNet-M, 9,605 classes, 200 groups) in its original layout
through tools/model_converters/ml_decoder_to_mmpretrain.py into a backbone."""
from collections import OrderedDict

import pytest
import torch
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.utils import select_weights

from .scripts import load_script

converter = load_script('tools/model_converters/ml_decoder_to_mmpretrain.py')

TINY_BACKBONE = dict(type='ResNet', depth=18, stem_channels=8, base_channels=8, num_stages=2,
                     strides=(1, 2), dilations=(1, 1), out_indices=(1, ))


def tiny_model(num_classes, init_cfg=None):
    return MODELS.build(dict(
        type='ImageClassifier', backbone=dict(TINY_BACKBONE, init_cfg=init_cfg),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='MultiLabelLinearClsHead', num_classes=num_classes, in_channels=16)))


def test_select_weights_sorts_every_key():
    model = OrderedDict(a=torch.zeros(2), b=torch.zeros(3), c=torch.zeros(1))
    source = OrderedDict([('backbone.a', torch.ones(2)), ('backbone.b', torch.ones(4)),
                          ('backbone.z', torch.ones(1)), ('head.w', torch.ones(5))])
    report = select_weights(model, source, 'backbone')
    assert list(report['weights']) == report['loaded'] == ['a']
    assert report['skipped'] == ['head.w'] and report['unexpected'] == ['backbone.z']
    assert report['mismatched'] == ['backbone.b: (4,) != (3,)']
    assert report['missing'] == ['b', 'c']
    assert select_weights(model, {'a': torch.ones(2)})['loaded'] == ['a']  # no prefix


def test_pretrained_backbone_keeps_backbone_drops_head_and_reports(tmp_path):
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    source = tiny_model(601)
    path = str(tmp_path / 'pretrain.pth')
    torch.save(dict(state_dict=source.state_dict(), meta=dict()), path)
    model = tiny_model(20, init_cfg=dict(type='Pretrained', checkpoint=path,
                                         prefix='backbone.'))
    model.init_weights()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, source.backbone.state_dict()[key]), key
    report = model.backbone.pretrained_report
    assert set(report['loaded']) == set(source.backbone.state_dict())
    assert set(report['skipped']) == {'head.fc.weight', 'head.fc.bias'}
    assert report['missing'] == report['unexpected'] == report['mismatched'] == []
    # a prefix that matches nothing is an error, not a silent random start
    bad = tiny_model(20, init_cfg=dict(type='Pretrained', checkpoint=path, prefix='body.'))
    with pytest.raises(ValueError, match='no tensor of .* fits the module'):
        bad.init_weights()


def original_tresnet_m_body():
    """Keys and shapes of the ML-Decoder repo's ``TResnetM`` (layers 3-4-11-3, basic
    blocks in the first two stages, in-place ABN, anti-aliased stride 2; its blur
    filters are non-persistent buffers), written from its model code. Tensors are
    expanded scalars (no memory)."""
    sd = OrderedDict()
    counter = iter(range(1, 10 ** 6))

    def const(*shape):
        return torch.full((), float(next(counter))).expand(*shape)

    def conv_abn(prefix, cin, cout, k):
        sd[prefix + '.0.weight'] = const(cout, cin, k, k)
        sd[prefix + '.1.weight'] = torch.linspace(-1, 1, cout)
        for name in ('bias', 'running_mean', 'running_var'):
            sd[f'{prefix}.1.{name}'] = const(cout)

    conv_abn('body.conv1', 48, 64, 3)
    inplanes = 64
    for stage, (planes, blocks, stride, basic, se) in enumerate(
            [(64, 3, 1, True, True), (128, 4, 2, True, True), (256, 11, 2, False, True),
             (512, 3, 2, False, False)], 1):
        expansion = 1 if basic else 4
        for i in range(blocks):
            p, s = f'body.layer{stage}.{i}', stride if i == 0 else 1
            if basic:
                conv_abn(f'{p}.conv1.0' if s == 2 else f'{p}.conv1', inplanes, planes, 3)
                conv_abn(f'{p}.conv2', planes, planes, 3)
                rd, se_ch = max(planes // 4, 64), planes
            else:
                conv_abn(f'{p}.conv1', inplanes, planes, 1)
                conv_abn(f'{p}.conv2.0' if s == 2 else f'{p}.conv2', planes, planes, 3)
                conv_abn(f'{p}.conv3', planes, planes * 4, 1)
                rd, se_ch = max(planes * 4 // 8, 64), planes
            if se:
                sd[f'{p}.se.fc1.weight'] = const(rd, se_ch, 1, 1)
                sd[f'{p}.se.fc1.bias'] = const(rd)
                sd[f'{p}.se.fc2.weight'] = const(se_ch, rd, 1, 1)
                sd[f'{p}.se.fc2.bias'] = const(se_ch)
            if i == 0 and (s != 1 or inplanes != planes * expansion):
                ds = f'{p}.downsample.1' if s == 2 else f'{p}.downsample.0'
                conv_abn(ds, inplanes, planes * expansion, 1)
            inplanes = planes * expansion
    return sd


def original_open_images_head(num_classes=9605, groups=200, embed=768, ffn=2048, width=2048):
    """``head.decoder.*`` of the release (ML-Decoder, one layer, 200 groups)."""
    sd = OrderedDict()
    dup = -(-num_classes // groups)
    sd['head.decoder.embed_standart.weight'] = torch.zeros(()).expand(embed, width)
    sd['head.decoder.embed_standart.bias'] = torch.zeros(embed)
    sd['head.decoder.query_embed.weight'] = torch.zeros(()).expand(groups, embed)
    layer = 'head.decoder.layers.0.'
    sd[layer + 'multihead_attn.in_proj_weight'] = torch.zeros(()).expand(3 * embed, embed)
    sd[layer + 'multihead_attn.in_proj_bias'] = torch.zeros(3 * embed)
    sd[layer + 'multihead_attn.out_proj.weight'] = torch.zeros(()).expand(embed, embed)
    sd[layer + 'multihead_attn.out_proj.bias'] = torch.zeros(embed)
    sd[layer + 'linear1.weight'] = torch.zeros(()).expand(ffn, embed)
    sd[layer + 'linear1.bias'] = torch.zeros(ffn)
    sd[layer + 'linear2.weight'] = torch.zeros(()).expand(embed, ffn)
    sd[layer + 'linear2.bias'] = torch.zeros(embed)
    for n in (1, 2, 3):
        sd[f'{layer}norm{n}.weight'] = torch.ones(embed)
        sd[f'{layer}norm{n}.bias'] = torch.zeros(embed)
    sd['head.decoder.duplicate_pooling'] = torch.zeros(()).expand(groups, embed, dup)
    sd['head.decoder.duplicate_pooling_bias'] = torch.zeros(num_classes)
    return sd


def test_open_images_release_converts_and_starts_a_backbone(tmp_path):
    sd = original_tresnet_m_body()
    sd.update(original_open_images_head())
    state, report = converter.convert(dict(model=sd), timm_model='tresnet_m')
    assert report['backbone_unmapped'] == [] and report['backbone_missing'] == []
    assert report['head_args'] == dict(num_classes=9605, in_channels=2048, num_groups=200,
                                       embed_dims=768, ffn_dims=2048, num_layers=1,
                                       normalized=False)
    path = str(tmp_path / 'oi_tresnet_m.pth')
    torch.save(dict(state_dict={k: v.contiguous() for k, v in state.items()}), path)

    init_default_scope('mmpretrain')
    backbone = MODELS.build(dict(type='TIMMBackbone', model_name='tresnet_m', init_cfg=dict(
        type='Pretrained', checkpoint=path, prefix='backbone.')))
    backbone.init_weights()
    report = backbone.pretrained_report
    assert report['missing'] == [] and report['mismatched'] == []
    assert {k.split('.')[1] for k in report['skipped']} == {'group_weight', 'group_bias',
                                                             'embed', 'query_embed', 'layers'}
    torch.testing.assert_close(backbone.timm_model.body.layer2[0].conv1.bn.weight,
                               sd['body.layer2.0.conv1.0.1.weight'].abs() + 1e-5)
