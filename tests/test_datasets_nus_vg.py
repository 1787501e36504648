"""NUS-WIDE (ASL CSV and release layouts) and VG500 on tiny fixtures."""
import json
import os.path as osp

import numpy as np
import pytest

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import (
    NUS_WIDE_CATEGORIES,
    DatasetFormatError,
    NusWideMultiLabel,
    VG500MultiLabel,
)
from mmpretrain_multilabel.datasets.nus_wide import parse_label_list

from .dataset_test_utils import fast_gc, make_image  # noqa: F401

C = NUS_WIDE_CATEGORIES


def labels_of(ds):
    return {ds.get_data_info(i)['img_path']: ds.get_data_info(i)['gt_label']
            for i in range(len(ds))}


def test_nus_categories():
    assert len(C) == 81 and list(C) == sorted(C)
    assert parse_label_list("['clouds', 'sky']") == ['clouds', 'sky']
    assert parse_label_list('["sky"]') == ['sky']
    assert parse_label_list('[]') == []
    with pytest.raises(ValueError):
        parse_label_list('clouds;sky')


# ------------------------------------------------------------- ASL's CSV
ASL_ROWS = [
    ('images/0_1_a_m.jpg', "['clouds', 'sky']", 'train'),
    ('images/0_2_b_m.jpg', "['person']", 'val'),
    ('images/0_3_c_m.jpg', "['zebra', 'airport', 'sky']", 'train'),
    ('images/0_4_d_m.jpg', '[]', 'train'),
    ('images/0_5_e_m.jpg', "['water']", 'val'),
]


def write_asl_csv(root, rows=ASL_ROWS, header='filepath,label,split_name'):
    lines = [header] if header else []
    lines += [f'{p},"{lab}",{s}' for p, lab, s in rows]
    root.mkdir(parents=True, exist_ok=True)
    (root / 'nus_wid_data.csv').write_text('\n'.join(lines) + '\n')


@pytest.mark.parametrize('header', ['filepath,label,split_name', None,
                                    'split_name,filepath,label'])
def test_nus_asl_csv(tmp_path, header):
    rows = ASL_ROWS
    if header and header.startswith('split_name'):
        rows = [(s, p, lab) for p, lab, s in ASL_ROWS]
        lines = [header] + [f'{s},{p},"{lab}"' for s, p, lab in rows]
        tmp_path.joinpath('nus_wid_data.csv').write_text('\n'.join(lines))
    else:
        write_asl_csv(tmp_path, header=header)
    train = NusWideMultiLabel(data_root=str(tmp_path), split='train')
    root = str(tmp_path)
    assert train.CLASSES == C
    assert labels_of(train) == {
        osp.join(root, 'images/0_1_a_m.jpg'): sorted(
            [C.index('clouds'), C.index('sky')]),
        osp.join(root, 'images/0_3_c_m.jpg'): sorted(
            [C.index('zebra'), C.index('airport'), C.index('sky')]),
    }  # the unlabelled image is dropped
    val = NusWideMultiLabel(data_root=root, split='test')  # = 'val'
    assert len(val) == 2
    kept = NusWideMultiLabel(data_root=root, split='train', drop_empty=False)
    assert len(kept) == 3


@pytest.mark.parametrize('row, match', [
    (('images/x.jpg', "['cloud']", 'train'),
     r"nus_wid_data\.csv:3 \(field 'label'\): unknown class name 'cloud'"),
    (('images/x.jpg', "['sky']", 'test'),
     r"nus_wid_data\.csv:3 \(field 'split_name'\): unknown split 'test'"),
    (('images/x.jpg', 'sky', 'train'),
     r"nus_wid_data\.csv:3 \(field 'label'\): expected a list"),
    (('images/0_1_a_m.jpg', "['sky']", 'train'),
     r"duplicate image 'images/0_1_a_m\.jpg' \(first at line 2\)"),
])
def test_nus_asl_csv_errors(tmp_path, row, match):
    write_asl_csv(tmp_path, rows=ASL_ROWS[:1] + [row])
    with pytest.raises(DatasetFormatError, match=match):
        NusWideMultiLabel(data_root=str(tmp_path), split='train')


# ------------------------------------------------------------- the release
RELEASE = {
    'Train': [('actor\\0001_11.jpg', ['person', 'sky']),
              ('beach\\0002_22.jpg', ['beach', 'water', 'sky', 'sand']),
              ('cat\\0003_33.jpg', [])],
    'Test': [('C:\\ImageData\\Flickr\\zoo\\0004_44.jpg', ['zebra']),
             ('dog\\0005_55.jpg', ['dog', 'grass'])],
}


def write_release(root, merged=False):
    (root / 'ImageList').mkdir(parents=True)
    gt = root / 'Groundtruth' / 'TrainTestLabels'
    gt.mkdir(parents=True)
    for split, items in RELEASE.items():
        (root / 'ImageList' / f'{split}Imagelist.txt').write_text(
            '\r\n'.join(p for p, _ in items) + '\r\n')
        matrix = np.array([[int(c in lab) for c in C] for _, lab in items])
        if merged:
            np.savetxt(root / 'Groundtruth' / f'Labels_{split}.txt', matrix,
                       fmt='%d')
        else:
            for j, c in enumerate(C):
                np.savetxt(gt / f'Labels_{c}_{split}.txt', matrix[:, j],
                           fmt='%d')


@pytest.mark.parametrize('merged', [False, True])
def test_nus_release_layout(tmp_path, merged):
    write_release(tmp_path, merged)
    root = str(tmp_path)
    train = NusWideMultiLabel(data_root=root, split='train',
                              layout='official')
    flickr = osp.join(root, 'Flickr')
    assert labels_of(train) == {
        osp.join(flickr, 'actor/0001_11.jpg'): sorted(
            C.index(c) for c in ['person', 'sky']),
        osp.join(flickr, 'beach/0002_22.jpg'): sorted(
            C.index(c) for c in ['beach', 'water', 'sky', 'sand']),
    }
    test = NusWideMultiLabel(data_root=root, split='test', layout='official')
    assert labels_of(test) == {
        osp.join(flickr, 'zoo/0004_44.jpg'): [C.index('zebra')],
        osp.join(flickr, 'dog/0005_55.jpg'): sorted(
            [C.index('dog'), C.index('grass')]),
    }


def test_nus_release_errors(tmp_path):
    write_release(tmp_path)
    gt = tmp_path / 'Groundtruth' / 'TrainTestLabels'
    (gt / 'Labels_sky_Train.txt').write_text('0\n1\n')  # 2 lines, 3 images
    with pytest.raises(DatasetFormatError,
                       match=r'Labels_sky_Train\.txt: expected 3 lines of 1 '
                       r'value\(s\).*found 2'):
        NusWideMultiLabel(data_root=str(tmp_path), layout='official')
    (gt / 'Labels_sky_Train.txt').write_text('0\n1\n2\n')
    with pytest.raises(DatasetFormatError,
                       match=r'Labels_sky_Train\.txt:3: label value 2'):
        NusWideMultiLabel(data_root=str(tmp_path), layout='official')
    with pytest.raises(ValueError, match='layout must be one of'):
        NusWideMultiLabel(data_root=str(tmp_path), layout='csv')


# ------------------------------------------------------------- VG500
def write_vg(root, train, test, index):
    root.mkdir(parents=True, exist_ok=True)
    (root / 'train_list_500.txt').write_text('\n'.join(train) + '\n')
    (root / 'test_list_500.txt').write_text('\n'.join(test) + '\n')
    (root / 'vg_category_500_labels_index.json').write_text(json.dumps(index))


def test_vg500(tmp_path):
    index = {'1.jpg': [0, 499, 7, 7], '2.jpg': [3], '3.jpg': [10, 2]}
    write_vg(tmp_path, ['1.jpg', '2.jpg'], ['3.jpg'], index)
    make_image(tmp_path / 'VG_100K' / '1.jpg')
    make_image(tmp_path / 'VG_100K' / '2.jpg')
    root = str(tmp_path)
    ds = VG500MultiLabel(data_root=root, split='train', check_images=True,
                         pipeline=[dict(type='CheckedLoadImageFromFile'),
                                   dict(type='PackInputs')])
    assert len(ds.CLASSES) == 500 and ds.CLASSES[0] == 'vg500_000'
    images = osp.join(root, 'VG_100K')
    assert labels_of(ds) == {osp.join(images, '1.jpg'): [0, 7, 499],
                             osp.join(images, '2.jpg'): [3]}
    packed = ds[0]['data_samples']
    assert packed.gt_label.tolist() == [0, 7, 499]
    test = VG500MultiLabel(data_root=root, split='val')
    assert labels_of(test) == {osp.join(images, '3.jpg'): [2, 10]}
    # names from a {name: id} JSON (ids >= 500 are ignored)
    names = {f'obj{i}': i for i in range(500)}
    names['extra'] = 731
    (tmp_path / 'names.json').write_text(json.dumps(names))
    ds = VG500MultiLabel(data_root=root, classes='names.json')
    assert ds.CLASSES[:2] == ('obj0', 'obj1') and len(ds.CLASSES) == 500


@pytest.mark.parametrize('index, train, match', [
    ({'1.jpg': [0]}, ['1.jpg', '2.jpg'],
     r"train_list_500\.txt:2: image '2\.jpg' has no entry in "
     r'.*vg_category_500_labels_index\.json'),
    ({'1.jpg': [500]}, ['1.jpg'],
     r"vg_category_500_labels_index\.json \(field '1\.jpg'\): label id 500 "
     r'is out of range \[0, 500\)'),
    ({'1.jpg': [0]}, ['1.jpg', '1.jpg'],
     r"train_list_500\.txt:2: duplicate image '1\.jpg' \(first at line 1\)"),
    ({'1.jpg': 3}, ['1.jpg'], r"\(field '1\.jpg'\): labels must be a list"),
])
def test_vg500_errors(tmp_path, index, train, match):
    write_vg(tmp_path, train, ['1.jpg'], index)
    with pytest.raises(DatasetFormatError, match=match):
        VG500MultiLabel(data_root=str(tmp_path))


def test_vg500_empty_list(tmp_path):
    write_vg(tmp_path, [], ['1.jpg'], {'1.jpg': [0]})
    (tmp_path / 'train_list_500.txt').write_text('')
    with pytest.raises(DatasetFormatError, match=r'train_list_500\.txt: .*'
                       'empty'):
        VG500MultiLabel(data_root=str(tmp_path))


# ------------------------------------------------------------- configs
def build_from_config(name, loader, **overrides):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    cfg = Config.fromfile(osp.join(root, 'configs', '_base_', 'datasets',
                                   f'{name}.py'))
    init_default_scope('mmpretrain')
    ds_cfg = cfg[loader].dataset
    ds_cfg.update(overrides)
    return cfg, DATASETS.build(ds_cfg)


def test_nus_wide_config(tmp_path):
    write_asl_csv(tmp_path)
    for p, _, _ in ASL_ROWS:
        make_image(tmp_path / p)
    cfg, ds = build_from_config('nus_wide_448', 'val_dataloader',
                                data_root=str(tmp_path))
    assert cfg.data_preprocessor.num_classes == 81 == len(ds.CLASSES)
    out = ds[0]
    assert out['inputs'].shape == (3, 448, 448)
    assert out['data_samples'].gt_label.tolist() == [C.index('person')]
    _, train = build_from_config('nus_wide_448', 'train_dataloader',
                                 data_root=str(tmp_path))
    assert train[0]['inputs'].shape == (3, 448, 448)


@pytest.mark.parametrize('name, size', [('vg500_576', 576),
                                        ('vg500_448', 448)])
def test_vg500_configs(tmp_path, name, size):
    write_vg(tmp_path, ['1.jpg'], ['2.jpg'], {'1.jpg': [4], '2.jpg': [9]})
    for n in ('1.jpg', '2.jpg'):
        make_image(tmp_path / 'VG_100K' / n)
    for loader, label in (('train_dataloader', 4), ('val_dataloader', 9)):
        cfg, ds = build_from_config(name, loader, data_root=str(tmp_path))
        assert cfg.data_preprocessor.num_classes == 500
        out = ds[0]
        assert out['inputs'].shape == (3, size, size)
        assert out['data_samples'].gt_label.tolist() == [label]
