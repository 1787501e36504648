"""The short-run speed switches (docs/benchmarks.md, "Cross-validation speed"):
the frozen stages run once per batch (SAM steps bit-identical to the stock
forward), the folded channels_last copy is equal up to float rounding, the
image cache gives the same pixels."""
import copy
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmpretrain.models.backbones import TIMMBackbone
from mmpretrain.registry import MODELS, TRANSFORMS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis.short_run import apply_speedups, short_run_config
from mmpretrain_multilabel.datasets.image_cache import CachedTransforms, cache_pipeline
from mmpretrain_multilabel.engine import SAMOptimWrapper
from mmpretrain_multilabel.models.backbones.frozen_prefix import (
    efficientnet_stages,
    fold_frozen_bn,
    frozen_prefix_length,
)

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
FROZEN = ['conv_stem', 'bn1'] + [f'blocks.{i}' for i in range(6)]  # the real-photo configs'
RECIPE_CONFIG = osp.join(ROOT, 'configs', 'coco319',
                         'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py')


def lite0(**kwargs):
    return MODELS.build(dict(type='FreezableTIMMBackbone', model_name='efficientnet_lite0',
                             pretrained=False, frozen_modules=FROZEN, **kwargs))


def random_bn_stats(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.rand(m.num_features, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(m.num_features, generator=g) - 0.5)


def test_frozen_prefix_of_efficientnet():
    backbone = lite0()
    names = [n for n, _ in efficientnet_stages(backbone.timm_model)]
    assert names[:3] == ['conv_stem', 'bn1', 'blocks.0'] and names[-2:] == ['conv_head', 'bn2']
    assert backbone.num_frozen_stages == 8  # conv_stem, bn1, blocks 0-5
    assert frozen_prefix_length(names, ['conv_stem', 'blocks.0']) == 1  # bn1 trains
    assert frozen_prefix_length(names, ['blocks.5']) == 0
    assert frozen_prefix_length(names, ['conv_stem', 'bn1', 'blocks.0.0']) == 2
    features_only = MODELS.build(dict(type='FreezableTIMMBackbone', features_only=True,
                                      model_name='efficientnet_lite0', pretrained=False,
                                      frozen_modules=['conv_stem']))
    assert features_only.num_frozen_stages == 0  # not the EfficientNet forward: stock


def test_cached_forward_is_bit_identical_and_runs_the_frozen_stages_once():
    torch.manual_seed(0)
    backbone = lite0().train()
    random_bn_stats(backbone)
    x = torch.randn(3, 3, 96, 96)
    torch.manual_seed(1)
    stock = TIMMBackbone.forward(backbone, x)[0]  # today's forward (dropout included)
    torch.manual_seed(1)
    ours = backbone(x)[0]
    assert torch.equal(ours, stock)
    assert backbone(x)[0].shape == stock.shape
    assert backbone.frozen_prefix.runs == 1  # the second call reused the frozen stages
    with torch.autocast('cpu', dtype=torch.bfloat16):  # another precision: computed again
        backbone(x)
    backbone(x)
    assert backbone.frozen_prefix.runs == 3
    x.add_(0)  # an in-place write (version bump) invalidates the cache
    backbone(x)
    assert backbone.frozen_prefix.runs == 4
    x.requires_grad_(True)  # gradients to the input: the stock forward
    backbone(x)[0].sum().backward()
    assert x.grad is not None and backbone.frozen_prefix.runs == 4
    ema = copy.deepcopy(backbone)  # an EMA copy starts with an empty cache
    assert ema.frozen_prefix.runs == 0 and ema.frozen_prefix._output is None
    off = lite0(cache_frozen=False).train()  # every switch off: the stock forward
    off(x.detach())
    assert off.frozen_prefix.runs == 0


def classifier(backbone):
    return MODELS.build(dict(
        type='ImageClassifier', backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='MultiLabelLinearClsHead', num_classes=5, in_channels=1280),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_classes=5, to_onehot=True,
                               mean=[127.5] * 3, std=[64.0] * 3)))


def batches(n, size=64, batch=4):
    g = torch.Generator().manual_seed(3)
    return [dict(inputs=[torch.randint(0, 256, (3, size, size), generator=g,
                                       dtype=torch.uint8) for _ in range(batch)],
                 data_samples=[DataSample().set_gt_label([i % 5, (i + 2) % 5])
                               for i in range(batch)]) for _ in range(n)]


def test_sam_step_with_cached_frozen_stages_equals_the_stock_step():
    """Same gradients, params and BN statistics after SAM steps; the frozen stages
    run once per step instead of twice."""
    torch.manual_seed(0)
    stock = classifier(dict(type='FreezableTIMMBackbone', model_name='efficientnet_lite0',
                            pretrained=False, frozen_modules=FROZEN))
    random_bn_stats(stock)
    ours = copy.deepcopy(stock)
    stock.backbone.num_frozen_stages = 0  # today's forward: frozen stages in both passes
    grads = {}

    def keep_grads(name):
        def hook(optimizer, args, kwargs):
            grads[name] = [p.grad.clone() for g in optimizer.param_groups
                           for p in g['params'] if p.grad is not None]
        return hook

    wrappers = {}
    for name, model in (('stock', stock), ('ours', ours)):
        model.train()
        optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad],
                                    lr=0.05, momentum=0.9)
        optimizer.register_step_pre_hook(keep_grads(name))
        wrappers[name] = SAMOptimWrapper(optimizer=optimizer, rho=0.05)
    for step, batch in enumerate(batches(3)):
        for name, model in (('stock', stock), ('ours', ours)):
            torch.manual_seed(step)  # the same dropout masks
            model.train_step(copy.deepcopy(batch), wrappers[name])
        assert len(grads['ours']) == len(grads['stock']) > 0
        for a, b in zip(grads['ours'], grads['stock']):
            assert torch.equal(a, b)
    for (name, a), b in zip(ours.state_dict().items(), stock.state_dict().values()):
        assert torch.equal(a, b), name
    assert ours.backbone.frozen_prefix.runs == 3  # once per step (two passes each)


def test_folded_channels_last_copy_is_equal_up_to_rounding():
    torch.manual_seed(0)
    backbone = lite0().eval()
    random_bn_stats(backbone)
    stages = [m for _, m in efficientnet_stages(backbone.timm_model)[:8]]
    folded, count = fold_frozen_bn(stages)
    assert count == 45  # the stem and every conv + norm pair of blocks 0-5
    assert not any(p.requires_grad for p in folded.parameters())
    x = torch.randn(5, 3, 96, 96)
    stock = TIMMBackbone.forward(backbone, x)[0]
    for fold, channels_last in ((True, False), (False, True), (True, True)):
        fast = lite0(fold_frozen_bn=fold, frozen_channels_last=channels_last).eval()
        fast.load_state_dict(backbone.state_dict())
        out = fast(x)[0]
        assert out.is_contiguous()
        assert not torch.equal(out, stock)  # not bit-exact ...
        assert float((out - stock).norm() / stock.norm()) < 1e-5  # ... but equal to rounding
        assert float((fast(x[:2])[0] - stock[:2]).norm() / stock[:2].norm()) < 1e-5
    # new frozen weights (a checkpoint loaded): the private copy is rebuilt
    random_bn_stats(backbone, seed=1)
    fast.load_state_dict(backbone.state_dict())
    stock = TIMMBackbone.forward(backbone, x)[0]
    assert float((fast(x)[0] - stock).norm() / stock.norm()) < 1e-5
    assert not any('frozen_prefix' in k for k in fast.state_dict())


def write_photos(folder, n=3):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(n):
        img = rng.integers(0, 256, (60 + 7 * i, 80, 3), dtype=np.uint8)
        img = cv2.GaussianBlur(img, (5, 5), 2)
        path = str(folder / f'{i}.jpg')
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


def pipeline_outputs(pipeline, paths, seed):
    np.random.seed(seed)
    return [pipeline(dict(img_path=p, sample_idx=i, gt_label=[i]))
            for _ in range(2) for i, p in enumerate(paths)]


def assert_same_samples(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], np.ndarray):
                assert np.array_equal(x[k], y[k]), k
            elif isinstance(x[k], torch.Tensor):
                assert torch.equal(x[k], y[k]), k
            elif k != 'data_samples':
                assert x[k] == y[k], k


def compose(steps):
    return Compose([TRANSFORMS.build(s) for s in steps])


def recipe_train_pipeline():
    return Config.fromfile(RECIPE_CONFIG).train_dataloader.dataset.pipeline


def test_cache_pipeline_wraps_the_deterministic_head_only():
    pipeline = recipe_train_pipeline()
    cached = cache_pipeline(pipeline)
    assert cached[0]['type'] == 'CachedTransforms'
    assert [t['type'] for t in cached[0]['transforms']] == ['CheckedLoadImageFromFile', 'Resize']
    assert cached[1:] == [dict(t) for t in pipeline[2:]]  # flip, RandAugment, Cutout, pack
    assert cache_pipeline(cached) == cached  # already cached: unchanged
    assert cache_pipeline([dict(type='RandomResizedCrop', scale=8)])[0]['type'] \
        == 'RandomResizedCrop'


def test_image_cache_gives_the_same_pixels(tmp_path):
    paths = write_photos(tmp_path)
    steps = [dict(t) for t in recipe_train_pipeline()[:-1]]  # without PackInputs
    plain = compose(steps)
    cached = compose(cache_pipeline(steps))
    head = cached.transforms[0]
    assert isinstance(head, CachedTransforms)
    # the whole augmented pipeline, twice over the images: equal pixels, same random draws
    assert_same_samples(pipeline_outputs(cached, paths, 0), pipeline_outputs(plain, paths, 0))
    assert head.misses == len(paths) and head.hits == len(paths)
    assert head.nbytes == sum(224 * 224 * 3 for _ in paths)
    # later in-place edits of a sample do not reach the cache
    out = head(dict(img_path=paths[0]))
    out['img'][:] = 0
    again = head(dict(img_path=paths[0]))
    assert again['img'].any() and again['img'].shape == (224, 224, 3)
    assert again['ori_shape'] == (60, 80)
    # over the memory limit: transformed, not cached
    small = CachedTransforms(steps[:2], max_bytes=224 * 224 * 3)
    for p in paths:
        small(dict(img_path=p))
    assert len(small._cache) == 1


def test_image_cache_on_real_photos(coco128_root):
    paths = sorted(glob.glob(osp.join(coco128_root, 'train2017', '*.jpg')))[:4]
    steps = [dict(t) for t in recipe_train_pipeline()]
    assert_same_samples(pipeline_outputs(compose(cache_pipeline(steps)), paths, 5),
                        pipeline_outputs(compose(steps), paths, 5))


def test_short_runs_switch_the_speedups_on(tmp_path):
    cfg = short_run_config(Config.fromfile(RECIPE_CONFIG), 1, str(tmp_path))
    backbone = cfg.model.backbone
    assert backbone.cache_frozen and backbone.fold_frozen_bn and backbone.frozen_channels_last
    assert cfg.train_dataloader.dataset.pipeline[0]['type'] == 'CachedTransforms'
    assert cfg.val_dataloader.dataset.pipeline[0]['type'] == 'CachedTransforms'
    off = Config.fromfile(RECIPE_CONFIG)
    off.short_run_speedups = dict(fold_frozen_bn=False, image_cache=False)
    short_run_config(off, 1, str(tmp_path))
    assert off.model.backbone.cache_frozen and not off.model.backbone.fold_frozen_bn
    assert off.train_dataloader.dataset.pipeline[0]['type'] == 'CheckedLoadImageFromFile'
    today = short_run_config(Config.fromfile(RECIPE_CONFIG), 1, str(tmp_path), speedups=False)
    assert 'fold_frozen_bn' not in today.model.backbone
    with pytest.raises(KeyError, match='amx'):
        apply_speedups(Config.fromfile(RECIPE_CONFIG), amx=True)


def test_speed_benchmark_skips_without_photos(tmp_path):
    lines = []
    assert load_script('benchmarks/cv_speed.py').main(
        ['--data-root', str(tmp_path)], log=lines.append) == {}
    assert lines[0].startswith('SKIPPED: coco319 not found at')


@pytest.mark.slow
def test_speed_benchmark_quick_on_real_photos():
    cv_speed = load_script('benchmarks/cv_speed.py')
    if not osp.isdir(osp.join(cv_speed.DATA, 'train2017')):
        pytest.skip(f'coco319 not found at {cv_speed.DATA}')
    lines = []
    results = cv_speed.main(['--rounds', '1', '--iters', '1', '--warmup', '1',
                             '--options', 'today', 'all (default)'], log=lines.append)
    assert set(results) == {'today', 'all (default)'}
    assert results['today']['wall_ratio'] == (1.0, 1.0, 1.0)
    assert results['all (default)']['wall_ratio'][0] > 1  # faster, even in one noisy pair
    assert sum(line.startswith('| ') for line in lines) == 3  # header and two rows
