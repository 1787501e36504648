"""CocoMultiLabel: labels equal those read directly from the JSON."""
import json
import os.path as osp

import numpy as np
import pytest

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import (
    CocoMultiLabel,
    DatasetFormatError,
    MarkIgnoredLabels,
)
from mmpretrain_multilabel.datasets.coco import scan_instances

from .dataset_test_utils import fast_gc  # noqa: F401

ANN = 'annotations/instances_train2017.json'


def reference_labels(coco: dict, crowd: str = 'include'):
    """{file_name: sorted class ids} straight from the JSON, plain Python."""
    cat_ids = sorted(c['id'] for c in coco['categories'])
    index = {cid: i for i, cid in enumerate(cat_ids)}
    labels, ignored = {}, {}
    for ann in coco['annotations']:
        crowd_ann = ann.get('iscrowd', 0) == 1
        if crowd == 'exclude' and crowd_ann:
            continue
        target = ignored if (crowd == 'ignore' and crowd_ann) else labels
        target.setdefault(ann['image_id'], set()).add(index[ann['category_id']])
    files = {im['id']: im['file_name'] for im in coco['images']}
    out = {}
    for img_id in set(labels) | set(ignored):
        pos = labels.get(img_id, set())
        out[files[img_id]] = (sorted(pos),
                              sorted(ignored.get(img_id, set()) - pos))
    return out


def samples(ds):
    return {osp.basename(ds.get_data_info(i)['img_path']): ds.get_data_info(i)
            for i in range(len(ds))}


@pytest.mark.parametrize('fast_scan', [True, False])
def test_coco128_labels_match_json(coco128_root, fast_scan):
    with open(osp.join(coco128_root, ANN)) as f:
        coco = json.load(f)
    ds = CocoMultiLabel(ann_file=ANN, data_root=coco128_root,
                        data_prefix='train2017', fast_scan=fast_scan)
    assert len(coco['images']) == 128
    assert len(ds) == 126
    # class order = category id order
    names = [c['name'] for c in sorted(coco['categories'],
                                       key=lambda c: c['id'])]
    assert len(ds.CLASSES) == 80 and list(ds.CLASSES) == names
    ref = reference_labels(coco)
    got = samples(ds)
    assert set(got) == set(ref)
    for name, info in got.items():
        assert info['gt_label'] == ref[name][0], name
        assert info['img_path'] == osp.join(coco128_root, 'train2017', name)
    # get_cat_ids gives the labels (class-aware samplers use it)
    assert ds.get_cat_ids(3) == ds.get_data_info(3)['gt_label']
    # label matrix agrees with the lists
    mat = ds.get_label_matrix()
    assert mat.shape == (126, 80)
    assert mat.sum() == sum(len(v[0]) for v in ref.values())


def test_coco128_keep_empty_and_images_exist(coco128_root):
    with open(osp.join(coco128_root, ANN)) as f:
        coco = json.load(f)
    annotated = {a['image_id'] for a in coco['annotations']}
    ds = CocoMultiLabel(ann_file=ANN, data_root=coco128_root,
                        data_prefix=dict(img_path='train2017'),
                        keep_empty=True, check_images=True)
    assert len(ds) == 128
    empty = [ds.get_data_info(i) for i in range(len(ds))
             if not ds.get_data_info(i)['gt_label']]
    assert {d['img_id'] for d in empty} == \
        {im['id'] for im in coco['images']} - annotated
    assert len(empty) == 2
    # JSON order is kept (deterministic `indices` splits)
    assert [ds.get_data_info(i)['img_id'] for i in range(len(ds))] == \
        [im['id'] for im in coco['images']]


@pytest.mark.parametrize('crowd', ['include', 'exclude', 'ignore'])
def test_crowd_modes_on_coco128(coco128_root, crowd):
    with open(osp.join(coco128_root, ANN)) as f:
        coco = json.load(f)
    ds = CocoMultiLabel(ann_file=ANN, data_root=coco128_root, crowd=crowd)
    ref = reference_labels(coco, crowd)
    got = samples(ds)
    assert set(got) == set(ref)
    for name, info in got.items():
        assert info['gt_label'] == ref[name][0]
        if crowd == 'ignore':
            assert info['gt_label_ignore'] == ref[name][1]


def write_json(path, obj, **kwargs):
    with open(path, 'w') as f:
        json.dump(obj, f, **kwargs)
    return str(path)


def tiny_coco():
    return dict(
        images=[dict(id=5, file_name='a.jpg'), dict(id=2, file_name='b.jpg'),
                dict(id=9, file_name='c.jpg'), dict(id=7, file_name='d.jpg')],
        categories=[dict(id=10, name='ten'), dict(id=3, name='three'),
                    dict(id=7, name='seven')],
        annotations=[
            dict(id=1, image_id=5, category_id=10, iscrowd=0),
            dict(id=2, image_id=5, category_id=3, iscrowd=1),
            dict(id=3, image_id=2, category_id=7, iscrowd=0),
            dict(id=4, image_id=2, category_id=7, iscrowd=0),
            dict(id=5, image_id=9, category_id=3, iscrowd=1),
            dict(id=6, image_id=9, category_id=10, iscrowd=1),
            dict(id=7, image_id=9, category_id=7, iscrowd=0),
        ])


@pytest.mark.parametrize('layout', ['compact', 'indented', 'anns_last'])
@pytest.mark.parametrize('fast_scan', [True, False])
def test_tiny_coco_crowd_semantics(tmp_path, layout, fast_scan):
    coco = tiny_coco()
    if layout == 'anns_last':
        coco = dict(images=coco['images'], categories=coco['categories'],
                    annotations=coco['annotations'])
    path = write_json(tmp_path / 'inst.json', coco,
                      indent=2 if layout == 'indented' else None)
    if fast_scan:  # the byte scan takes these layouts
        assert scan_instances(open(path, 'rb').read()) is not None

    def load(**kw):
        ds = CocoMultiLabel(ann_file=path, fast_scan=fast_scan, **kw)
        return {ds.get_data_info(i)['img_path']: ds.get_data_info(i)
                for i in range(len(ds))}, ds

    # classes by category id: three (3), seven (7), ten (10)
    got, ds = load()
    assert ds.CLASSES == ('three', 'seven', 'ten')
    assert {k: v['gt_label'] for k, v in got.items()} == {
        'a.jpg': [0, 2], 'b.jpg': [1], 'c.jpg': [0, 1, 2]}
    got, _ = load(crowd='exclude')
    assert {k: v['gt_label'] for k, v in got.items()} == {
        'a.jpg': [2], 'b.jpg': [1], 'c.jpg': [1]}
    got, _ = load(crowd='ignore')
    assert {k: (v['gt_label'], v['gt_label_ignore'])
            for k, v in got.items()} == {
        'a.jpg': ([2], [0]), 'b.jpg': ([1], []), 'c.jpg': ([1], [0, 2])}
    # ignored classes become -1 targets
    score = MarkIgnoredLabels(num_classes=3)(dict(got['c.jpg']))['gt_score']
    np.testing.assert_array_equal(score, [-1, 1, -1])
    got, _ = load(keep_empty=True)
    assert got['d.jpg']['gt_label'] == []
    # a class subset (and order) through metainfo
    got, ds = load(metainfo=dict(classes=('ten', 'three')))
    assert ds.CLASSES == ('ten', 'three')
    assert {k: v['gt_label'] for k, v in got.items()} == {
        'a.jpg': [0, 1], 'c.jpg': [0, 1]}


def test_scan_falls_back_on_unusual_layout(tmp_path):
    coco = tiny_coco()
    for ann in coco['annotations']:
        del ann['id']  # no annotation ids: the scan cannot check alignment
    path = write_json(tmp_path / 'inst.json', coco)
    assert scan_instances(open(path, 'rb').read()) is None
    ds = CocoMultiLabel(ann_file=path)  # full parse
    assert [ds.get_data_info(i)['gt_label'] for i in range(len(ds))] == \
        [[0, 2], [1], [0, 1, 2]]


@pytest.mark.parametrize('fast_scan', [True, False])
@pytest.mark.parametrize('case, match', [
    ('unknown_category', r"inst\.json \(field 'annotations\[2\]"
     r"\.category_id'\): category_id 99 is not defined"),
    ('unknown_image', r"\(field 'annotations\[0\]\.image_id'\): image_id 123"),
    ('duplicate_image', r"\(field 'images\[2\]\.id'\): duplicate image id 5"),
    ('duplicate_file', r"duplicate image file_name 'a\.jpg'"),
    ('no_images', r"inst\.json \(field 'images'\): missing or invalid"),
    ('missing_file_name', r"\(field 'images\[1\]\.file_name'\)"),
])
def test_coco_errors_name_file_and_field(tmp_path, fast_scan, case, match):
    coco = tiny_coco()
    if case == 'unknown_category':
        coco['annotations'][2]['category_id'] = 99
    elif case == 'unknown_image':
        coco['annotations'][0]['image_id'] = 123
    elif case == 'duplicate_image':
        coco['images'][2]['id'] = 5
    elif case == 'duplicate_file':
        coco['images'][3]['file_name'] = 'a.jpg'
    elif case == 'no_images':
        del coco['images']
    elif case == 'missing_file_name':
        del coco['images'][1]['file_name']
    path = write_json(tmp_path / 'inst.json', coco)
    with pytest.raises(DatasetFormatError, match=match):
        CocoMultiLabel(ann_file=path, fast_scan=fast_scan)


def test_coco_file_errors(tmp_path):
    empty = tmp_path / 'empty.json'
    empty.write_text('')
    with pytest.raises(DatasetFormatError, match=r'empty\.json: .*is empty'):
        CocoMultiLabel(ann_file=str(empty))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(DatasetFormatError, match=r'broken\.json:2: invalid'):
        CocoMultiLabel(ann_file=str(broken))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        CocoMultiLabel(ann_file=str(tmp_path / 'missing.json'))
    with pytest.raises(ValueError, match="crowd must be one of"):
        CocoMultiLabel(ann_file=str(broken), crowd='drop')
    with pytest.raises(FileNotFoundError, match=r'1 of 3 images .* missing'):
        path = write_json(tmp_path / 'inst.json', tiny_coco())
        for name in ('a.jpg', 'b.jpg'):
            (tmp_path / name).write_bytes(b'x')
        CocoMultiLabel(ann_file=path, data_root=str(tmp_path),
                       check_images=True)


@pytest.mark.parametrize('config', ['coco_448', 'coco2014_448'])
def test_coco_configs(coco128_root, config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, 'configs', '_base_', 'datasets',
                                   f'{config}.py'))
    year = '2017' if config == 'coco_448' else '2014'
    assert cfg.train_dataloader.dataset.ann_file == \
        f'annotations/instances_train{year}.json'
    assert cfg.val_dataloader.dataset.data_prefix == f'val{year}'
    assert cfg.data_preprocessor.num_classes == 80
    init_default_scope('mmpretrain')
    ds_cfg = cfg.val_dataloader.dataset
    ds_cfg.update(data_root=coco128_root, ann_file=ANN,
                  data_prefix='train2017', indices=2)
    ds = DATASETS.build(ds_cfg)
    out = ds[1]
    assert out['inputs'].shape == (3, 448, 448)
    assert out['data_samples'].gt_label.tolist() == \
        ds.get_data_info(1)['gt_label']
