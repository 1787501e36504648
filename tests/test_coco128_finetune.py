"""Real data: fine-tune ImageNet EfficientNet-Lite0 on coco128 (CPU).

Runs ``configs/coco128/lite0_linear_coco128-224px.py`` shortened for the
test suite (smaller images, fewer epochs, the early backbone blocks frozen)
and checks that the mAP on the 30 held-out images rises well above that of
the initial model (ImageNet backbone, untrained head).
"""
import os.path as osp

import numpy as np
import torch
from dataset_test_utils import fast_gc  # noqa: F401
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import CocoMultiLabel

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(ROOT, 'configs', 'coco128', 'lite0_linear_coco128-224px.py')
ANN = 'annotations/instances_train2017.json'


def resized(pipeline, size):
    return [dict(t, scale=(size, size)) if t['type'] == 'Resize' else t
            for t in pipeline]


def present_classes(root, indices):
    """Classes with a positive among the held-out images (from the JSON)."""
    ds = CocoMultiLabel(ann_file=ANN, data_root=root, indices=indices)
    present = np.zeros(80, dtype=bool)
    for i in range(len(ds)):
        present[ds.get_data_info(i)['gt_label']] = True
    return present


def test_paper_pipeline_on_coco128(coco128_root):
    """The paper's augmentation runs on real images and keeps the labels."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'datasets',
                                   'coco_448.py'))
    init_default_scope('mmpretrain')
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.update(data_root=coco128_root, indices=4)
    ds = DATASETS.build(ds_cfg)
    for i in range(len(ds)):
        out = ds[i]
        assert out['inputs'].shape == (3, 448, 448)
        assert out['inputs'].dtype == torch.uint8
        assert out['data_samples'].gt_label.tolist() == \
            ds.get_data_info(i)['gt_label']


def test_finetune_lite0_on_coco128(coco128_root, tmp_path):
    cfg = Config.fromfile(CONFIG)
    num_train = cfg.num_train
    held_out = cfg.val_dataloader.dataset.indices
    assert held_out == list(range(num_train, 126))  # disjoint from training
    assert cfg.train_dataloader.dataset.indices == list(range(num_train))
    size, epochs, frozen = 128, 6, 6
    cfg.work_dir = str(tmp_path)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = coco128_root
    train = cfg.train_dataloader.dataset
    # flip only: heavy augmentation needs more epochs than a test can run
    train.pipeline = [t for t in resized(train.pipeline, size)
                      if t['type'] not in ('RandAugment', 'RelativeCutout')]
    cfg.val_dataloader.dataset.pipeline = resized(
        cfg.val_dataloader.dataset.pipeline, size)
    cfg.test_dataloader = cfg.val_dataloader
    cfg.train_cfg.update(max_epochs=epochs, val_interval=epochs)
    cfg.val_evaluator = [dict(type='AveragePrecision', average=None)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook',
                                        interval=1000)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=6)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the suite shares 2 cores; 2 threads thrash
    try:
        runner = Runner.from_cfg(cfg)
        model = runner.model
        model.init_weights()  # ImageNet backbone, random head
        # train the last blocks and the head only (test time)
        timm_model = model.backbone.timm_model
        for module in [timm_model.conv_stem, timm_model.bn1,
                       *timm_model.blocks[:frozen]]:
            module.requires_grad_(False)
        before = np.array(runner.val()['multi-label/AP_classwise'])
        runner.train()
        after = np.array(runner.val()['multi-label/AP_classwise'])
    finally:
        torch.set_num_threads(threads)

    present = present_classes(coco128_root, held_out)
    map_before = before[present].mean()
    map_after = after[present].mean()
    print(f'coco128 held-out mAP over the {present.sum()} classes present: '
          f'{map_before:.2f} -> {map_after:.2f}')
    assert np.isfinite(after).all()
    assert map_after > map_before + 8
    assert map_after > 1.4 * map_before
