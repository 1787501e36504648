"""tools/model_converters/ml_decoder_to_mmpretrain.py on checkpoints built in
the original repository's layout (TResNet-L ``body.*`` + ``head.decoder.*``)."""
from collections import OrderedDict

import pytest
import torch
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.models.utils.ml_decoder_original import OriginalMLDecoder

from .scripts import load_script

converter = load_script('tools/model_converters/ml_decoder_to_mmpretrain.py')


def original_tresnet_l_body():
    """Keys and shapes of the ML-Decoder repo's ``TResnetL`` (layers 3-4-23-3,
    bottlenecks everywhere, width 64, in-place ABN, anti-aliased stride 2),
    written from its model code. Tensors are expanded scalars (no memory);
    ABN weights are real and partly negative."""
    sd = OrderedDict()
    counter = iter(range(1, 10 ** 6))

    def const(*shape):
        return torch.full((), float(next(counter))).expand(*shape)

    def abn(prefix, ch):
        sd[prefix + '.weight'] = torch.linspace(-1, 1, ch)
        for name in ('bias', 'running_mean', 'running_var'):
            sd[f'{prefix}.{name}'] = const(ch)

    sd['body.conv1.0.weight'] = const(64, 48, 3, 3)
    abn('body.conv1.1', 64)
    inplanes = 64
    for stage, (planes, blocks, stride, se) in enumerate(
            [(64, 3, 1, True), (128, 4, 2, True), (256, 23, 2, True), (512, 3, 2, False)], 1):
        for i in range(blocks):
            p = f'body.layer{stage}.{i}'
            s = stride if i == 0 else 1
            sd[f'{p}.conv1.0.weight'] = const(planes, inplanes, 1, 1)
            abn(f'{p}.conv1.1', planes)
            conv2 = f'{p}.conv2.0' if s == 2 else f'{p}.conv2'  # Sequential(conv_abn, AA)
            sd[f'{conv2}.0.weight'] = const(planes, planes, 3, 3)
            abn(f'{conv2}.1', planes)
            if se:
                rd = max(planes * 4 // 8, 64)
                sd[f'{p}.se.fc1.weight'] = const(rd, planes, 1, 1)
                sd[f'{p}.se.fc1.bias'] = const(rd)
                sd[f'{p}.se.fc2.weight'] = const(planes, rd, 1, 1)
                sd[f'{p}.se.fc2.bias'] = const(planes)
            sd[f'{p}.conv3.0.weight'] = const(planes * 4, planes, 1, 1)
            abn(f'{p}.conv3.1', planes * 4)
            if i == 0:
                ds = f'{p}.downsample.1' if s == 2 else f'{p}.downsample.0'  # after AvgPool
                sd[f'{ds}.0.weight'] = const(planes * 4, inplanes, 1, 1)
                abn(f'{ds}.1', planes * 4)
            inplanes = planes * 4
    return sd


def original_checkpoint(num_classes=80, normalized=False):
    torch.manual_seed(0)
    head = OriginalMLDecoder(num_classes, normalized=normalized).eval()  # 2048 -> 768, L=80
    with torch.no_grad():
        head.decoder.duplicate_pooling_bias.normal_()
    sd = original_tresnet_l_body()
    sd.update(('head.' + k, v) for k, v in head.state_dict().items())
    return dict(model=sd), head


@pytest.mark.parametrize('normalized', [False, True])
def test_head_converts_and_matches_reference(normalized):
    ckpt, ref = original_checkpoint(normalized=normalized)
    state, skipped, args = converter.convert_head(converter.unwrap(ckpt), normalized)
    assert args == dict(num_classes=80, in_channels=2048, num_groups=80, embed_dims=768,
                        ffn_dims=2048, num_layers=1, normalized=normalized)
    assert bool(skipped) == normalized  # only the bias, when normalized
    loss = dict(type='AAMLoss') if normalized else dict(type='CrossEntropyLoss', use_sigmoid=True)
    head = MODELS.build(dict(type='MLDecoderHead', loss=loss, **args)).eval()
    head.load_state_dict({k[len('head.'):]: v for k, v in state.items()}, strict=True)
    x = torch.randn(2, 2048, 4, 3)
    torch.testing.assert_close(head((x, )), ref(x), rtol=1e-5, atol=1e-5)


def test_backbone_maps_completely_to_timm_tresnet_v2_l():
    body = original_tresnet_l_body()
    out, unmapped, missing = converter.convert_backbone(body, 'tresnet_v2_l')
    assert unmapped == [] and missing == []
    import timm
    with torch.device('meta'):
        timm_sd = timm.create_model('tresnet_v2_l', num_classes=0).state_dict()
    assert set(out) == {'backbone.timm_model.' + k for k in timm_sd}
    for k, v in timm_sd.items():
        assert out['backbone.timm_model.' + k].shape == v.shape, k
    # in-place ABN weight -> batch-norm weight |w| + eps; other tensors unchanged
    torch.testing.assert_close(out['backbone.timm_model.body.layer2.0.conv2.bn.weight'],
                               body['body.layer2.0.conv2.0.1.weight'].abs() + 1e-5)
    assert torch.equal(out['backbone.timm_model.body.layer2.0.conv2.conv.weight'],
                       body['body.layer2.0.conv2.0.0.weight'])
    assert torch.equal(out['backbone.timm_model.body.layer3.0.downsample.1.conv.weight'],
                       body['body.layer3.0.downsample.1.0.weight'])
    assert torch.equal(out['backbone.timm_model.body.layer1.0.downsample.0.bn.running_var'],
                       body['body.layer1.0.downsample.0.1.running_var'])

    # timm's tresnet_l is TResNet-L v1 (other depths and widths): reported, not written
    out_l, unmapped_l, missing_l = converter.convert_backbone(body, 'tresnet_l')
    assert unmapped_l and missing_l
    assert all(r.split(' -> ')[0] in body for r in unmapped_l)


def test_whole_checkpoint_fits_the_mmpretrain_model():
    ckpt, _ = original_checkpoint()
    ckpt['model']['head.fc.weight'] = torch.zeros(1000, 2048)  # e.g. an ImageNet classifier
    state, report = converter.convert(ckpt)
    assert report['backbone_unmapped'] == ['head.fc.weight -> head.fc.weight (no such key)']
    assert report['backbone_missing'] == [] and report['head_skipped'] == []
    with torch.device('meta'):
        model = MODELS.build(dict(
            type='ImageClassifier',
            backbone=dict(type='TIMMBackbone', model_name='tresnet_v2_l'),
            head=dict(type='MLDecoderHead', **report['head_args'])))
    expected = model.state_dict()
    assert set(state) == set(expected)
    for k, v in expected.items():
        assert state[k].shape == v.shape, k


def test_cli_writes_mmengine_checkpoint(tmp_path, capsys):
    torch.manual_seed(0)
    head = OriginalMLDecoder(30, num_of_groups=8, decoder_embedding=64, initial_num_features=32)
    sd = OrderedDict(('module.head.' + k, v) for k, v in head.state_dict().items())  # DDP
    sd['module.body.conv1.0.weight'] = torch.randn(64, 48, 3, 3)
    sd['module.body.conv1.1.weight'] = torch.randn(64)
    src, dst = str(tmp_path / 'orig.pth'), str(tmp_path / 'out' / 'mmpretrain.pth')
    torch.save(dict(model=sd), src)
    report = converter.main([src, dst, '--normalized'])
    printed = capsys.readouterr().out
    assert "head=dict(type='MLDecoderHead', num_classes=30, in_channels=32, num_groups=8" in printed
    assert 'timm keys without a source' in printed
    saved = torch.load(dst, map_location='cpu')
    assert saved['meta']['head_args']['normalized'] is True
    state = saved['state_dict']
    assert 'head.group_bias' not in state
    torch.testing.assert_close(state['backbone.timm_model.body.conv1.bn.weight'],
                               sd['module.body.conv1.1.weight'].abs() + 1e-5)
    assert torch.equal(state['head.group_weight'], sd['module.head.decoder.duplicate_pooling'])
    assert torch.equal(state['head.query_embed'], sd['module.head.decoder.query_embed.weight'])
    assert report['num_head'] == len([k for k in state if k.startswith('head.')])


def test_no_head_is_an_error():
    with pytest.raises(ValueError, match='No ML-Decoder head'):
        converter.convert_head({'body.conv1.0.weight': torch.zeros(1)})
