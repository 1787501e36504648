"""An image whose label set is empty (a negative photo) trains and evaluates
in every dataset class of the plugin: it is kept (with the option that keeps
it), packed, one-hot encoded to an all-zero target, trained on (alone in its
batch too) and counted by the metrics."""
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from mmpretrain.registry import DATASETS, MODELS
from mmpretrain.structures import DataSample

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import DemoScenes
from mmpretrain_multilabel.datasets.openimages_synthetic import write_openimages_fixture
from mmpretrain_multilabel.evaluation.metrics import MultiLabelSuite

from .dataset_test_utils import fast_gc, make_image  # noqa: F401

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
PAPER_AUG = osp.join(ROOT, 'configs', '_base_', 'datasets', 'pipelines', 'paper_aug.py')


def csv_dataset(root):
    for name in 'abc':
        make_image(root / f'{name}.jpg')
    (root / 'ann.csv').write_text('image_path,labels\na.jpg,cat;dog\nb.jpg,car\nc.jpg,\n')
    return dict(type='CsvMultiLabelDataset', data_root=str(root), ann_file='ann.csv',
                classes=['cat', 'dog', 'car']), 'c.jpg'


def json_dataset(root):
    for name in 'abc':
        make_image(root / f'{name}.jpg')
    (root / 'ann.json').write_text(json.dumps(dict(
        metainfo=dict(classes=['cat', 'dog', 'car']),
        data_list=[dict(img_path='a.jpg', gt_label=['cat', 'dog']),
                   dict(img_path='b.jpg', gt_label=[2]), dict(img_path='c.jpg', gt_label=[])])))
    return dict(type='CheckedMultiLabelDataset', data_root=str(root),
                ann_file='ann.json'), 'c.jpg'


def coco_dataset(root):
    for name in 'abc':
        make_image(root / 'images' / f'{name}.jpg')
    (root / 'ann.json').write_text(json.dumps(dict(
        images=[dict(id=1, file_name='a.jpg'), dict(id=2, file_name='b.jpg'),
                dict(id=3, file_name='c.jpg')],
        categories=[dict(id=1, name='cat'), dict(id=5, name='dog'), dict(id=9, name='car')],
        annotations=[dict(id=1, image_id=1, category_id=1, iscrowd=0),
                     dict(id=2, image_id=1, category_id=5, iscrowd=0),
                     dict(id=3, image_id=2, category_id=9, iscrowd=0)])))
    return dict(type='CocoMultiLabel', data_root=str(root), ann_file='ann.json',
                data_prefix='images', keep_empty=True), 'c.jpg'


def nus_wide_dataset(root):
    rows = [('images/a.jpg', "['clouds', 'sky']"), ('images/b.jpg', "['person']"),
            ('images/c.jpg', '[]')]
    for path, _ in rows:
        make_image(root / path)
    (root / 'nus_wid_data.csv').write_text(
        'filepath,label,split_name\n' + ''.join(f'{p},"{lab}",train\n' for p, lab in rows))
    return dict(type='NusWideMultiLabel', data_root=str(root), split='train',
                drop_empty=False), 'c.jpg'


def openimages_dataset(root):
    from mmpretrain_multilabel.datasets.openimages import SUBSETS, read_class_descriptions
    write_openimages_fixture(str(root), num_classes=4, num_images=dict(validation=2),
                             img_size=16)
    mid = read_class_descriptions(str(root / 'class-descriptions-boxable.csv')).mids[0]
    with open(root / SUBSETS['boxable']['label_files']['validation'], 'a') as f:
        f.write(f'ffffffffffffffff,verification,{mid},0\n')  # a verified negative only
    make_image(root / 'validation' / 'ffffffffffffffff.jpg')
    return dict(type='OpenImagesMultiLabel', data_root=str(root), split='val',
                drop_empty=False), 'ffffffffffffffff.jpg'


def vg500_dataset(root):
    for name in 'abc':
        make_image(root / 'VG_100K' / f'{name}.jpg')
    (root / 'train_list_500.txt').write_text('a.jpg\nb.jpg\nc.jpg\n')
    (root / 'test_list_500.txt').write_text('a.jpg\n')
    (root / 'vg_category_500_labels_index.json').write_text(json.dumps(
        {'a.jpg': [0, 7], 'b.jpg': [3], 'c.jpg': []}))
    return dict(type='VG500MultiLabel', data_root=str(root), split='train'), 'c.jpg'


def demo_dataset(root):
    DemoScenes(data_root=str(root), split='train', num_images=3, img_size=32)
    ann = json.loads((root / 'train.json').read_text())
    ann['data_list'][2]['gt_label'] = []  # the last scene made a negative photo
    (root / 'train.json').write_text(json.dumps(ann))
    return dict(type='DemoScenes', data_root=str(root), split='train', num_images=3,
                img_size=32), '00002.png'


def voc_dataset(root):
    """MMPretrain's VOC as the shipped VOC configs use it (MarkIgnoredLabels in
    the pipeline): one photo without objects, one with a difficult one only."""
    objects = {'a': [('cat', 0), ('dog', 0)], 'b': [('car', 1)], 'c': []}
    for name, objs in objects.items():
        make_image(root / 'JPEGImages' / f'{name}.jpg')
        body = ''.join(f'<object><name>{n}</name><difficult>{d}</difficult></object>'
                       for n, d in objs)
        (root / 'Annotations').mkdir(parents=True, exist_ok=True)
        (root / 'Annotations' / f'{name}.xml').write_text(f'<annotation>{body}</annotation>')
    (root / 'ImageSets' / 'Main').mkdir(parents=True)
    (root / 'ImageSets' / 'Main' / 'trainval.txt').write_text('a\nb\nc\n')
    return dict(type='VOC', data_root=str(root), split='trainval'), 'c.jpg'


DATASETS_WITH_A_NEGATIVE = {
    'VOC': voc_dataset,
    'CsvMultiLabelDataset': csv_dataset, 'CheckedMultiLabelDataset': json_dataset,
    'CocoMultiLabel': coco_dataset, 'NusWideMultiLabel': nus_wide_dataset,
    'OpenImagesMultiLabel': openimages_dataset, 'VG500MultiLabel': vg500_dataset,
    'DemoScenes': demo_dataset,
}


def tiny_runner(dataset, num_classes, work_dir):
    """One epoch at batch size 1 (the negative alone in its batch) with the
    paper's augmentation (the shipped pipelines, at 16 px), then the
    validation of the same images at batch size 3, with MultiLabelSuite and
    MMPretrain's AveragePrecision; a cosine head with the summed AAM loss."""
    paper = Config.fromfile(PAPER_AUG)
    mark = [dict(type='MarkIgnoredLabels', num_classes=num_classes)] if dataset['type'] == 'VOC' \
        else []
    train, val = ([dict(t, scale=(16, 16)) if t['type'] == 'Resize' else t for t in pipeline]
                  for pipeline in (paper.train_pipeline, paper.test_pipeline))
    train_set = dict(dataset, pipeline=train[:-1] + mark + train[-1:])
    val_set = dict(dataset, pipeline=val[:-1] + mark + val[-1:])
    cfg = Config(dict(
        default_scope='mmpretrain',
        model=dict(
            type='ImageClassifier',
            data_preprocessor=dict(num_classes=num_classes, mean=[127.5] * 3, std=[64.] * 3),
            backbone=dict(type='ResNet', depth=18, stem_channels=8, base_channels=8,
                          num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1, )),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='MultiLabelCosineClsHead', num_classes=num_classes, in_channels=16,
                      loss=dict(type='BatchSumLoss', loss=dict(type='AAMLoss', s=10.)))),
        train_dataloader=dict(batch_size=1, num_workers=0, dataset=train_set,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        val_dataloader=dict(batch_size=3, num_workers=0, dataset=val_set,
                            sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=[dict(type='MultiLabelSuite', prefix='suite'),
                       dict(type='AveragePrecision')],
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=1, val_interval=1), val_cfg=dict(),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1),
                           checkpoint=dict(type='CheckpointHook', interval=-1)),
        custom_hooks=[dict(type='ConfigCheckHook')],
        work_dir=str(work_dir), randomness=dict(seed=0)))
    return Runner.from_cfg(cfg)


@pytest.mark.parametrize('name', sorted(DATASETS_WITH_A_NEGATIVE))
def test_negative_image_trains_and_evaluates(name, tmp_path):
    dataset, negative = DATASETS_WITH_A_NEGATIVE[name](tmp_path / 'data')
    built = DATASETS.build(dataset)
    infos = [built.get_data_info(i) for i in range(len(built))]
    kept = [i for i, info in enumerate(infos) if info['img_path'].endswith(negative)]
    assert len(kept) == 1, 'the negative image is dropped'
    assert len(infos[kept[0]]['gt_label']) == 0
    num_classes = len(built.metainfo['classes'])

    runner = tiny_runner(dataset, num_classes, tmp_path / 'work')
    losses = []
    runner.register_hook(LossRecorder(losses))
    runner.train()
    assert len(losses) == len(built) and all(math.isfinite(v) for v in losses)
    metrics = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
               if k.startswith('val/')}
    assert math.isfinite(metrics['val/multi-label/mAP'])  # MMPretrain's AveragePrecision
    assert math.isfinite(metrics['val/suite/mAP']) and math.isfinite(metrics['val/suite/OF1'])


class LossRecorder(Hook):
    """A hook that keeps every training iteration's loss."""

    def __init__(self, losses):
        self.losses = losses

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss']))


@pytest.mark.parametrize('head', [
    dict(type='MultiLabelLinearClsHead', in_channels=8),
    dict(type='MultiLabelCosineClsHead', in_channels=8,
         loss=dict(type='BatchSumLoss', loss=dict(type='AAMLoss', s=10.))),
    dict(type='CSRAClsHead', in_channels=8, num_heads=1, lam=0.1),
])
def test_a_batch_of_negatives_only(head):
    """Every target of the batch zero: finite loss and gradients, and the
    metrics count the negatives as true negatives."""
    head = MODELS.build(dict(head, num_classes=4))
    feats = torch.randn(3, 8, 2, 2) if 'CSRA' in type(head).__name__ else torch.randn(3, 8)
    feats.requires_grad_(True)
    samples = [DataSample().set_gt_label([]) for _ in range(3)]
    loss = head.loss((feats, ), samples)['loss']
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(feats.grad).all()
    suite = MultiLabelSuite()
    suite.dataset_meta = dict(classes=list('abcd'))
    preds = [dict(pred_score=torch.tensor([0.9, 0.1, 0.2, 0.3]), gt_label=torch.tensor([0])),
             dict(pred_score=torch.tensor([0.2, 0.1, 0.2, 0.3]),
                  gt_label=torch.zeros(0, dtype=torch.long))]
    suite.process(None, preds)
    metrics = suite.evaluate(2)
    assert np.isfinite(metrics['multi-label/mAP'])
    assert metrics['multi-label/OP'] == pytest.approx(100.0)  # the negative adds no FP


def test_batch_augments_keep_negatives_all_zero():
    """Mixup / CutMix (one-hot targets made by the data preprocessor) on a
    batch of negatives only, and on a negative beside a positive."""
    pre = MODELS.build(dict(type='ClsDataPreprocessor', num_classes=4, batch_augments=dict(
        augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)])))
    for labels in ([[], []], [[], [1]]):
        data = dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8) for _ in labels],
                    data_samples=[DataSample().set_gt_label(lab) for lab in labels])
        scores = torch.stack([s.gt_score for s in pre(data, training=True)['data_samples']])
        assert scores.shape == (2, 4) and torch.isfinite(scores).all()
        assert scores.sum().item() == pytest.approx(sum(map(len, labels)))
