"""Own data: CSV/TXT and JSON loaders, validation errors, image checks,
converters (CSV folder / COCO / pickle -> JSON)."""
import json
import os
import os.path as osp
import pickle

import numpy as np
import pytest

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import (
    CheckedLoadImageFromFile,
    CheckedMultiLabelDataset,
    CocoMultiLabel,
    CorruptImageError,
    CsvMultiLabelDataset,
    DatasetFormatError,
)

from .dataset_test_utils import fast_gc, make_image  # noqa: F401
from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
pkl_tool = load_script('tools/dataset_converters/pickle_to_multilabel_json.py')
json_tool = load_script('tools/dataset_converters/to_multilabel_json.py')

CLASSES = ['cat', 'dog', 'car']


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


def labels_of(ds):
    return {ds.get_data_info(i)['img_path']: ds.get_data_info(i)['gt_label']
            for i in range(len(ds))}


# ---------------------------------------------------------------- CSV / TXT
def test_csv_dataset(tmp_path):
    classes = write(tmp_path / 'classes.txt', 'cat\ndog\ncar\n')
    write(tmp_path / 'train.csv', '\n'.join([
        'image_path,labels',
        'img/1.jpg,cat;dog',
        '# a comment',
        '',
        'img/2.jpg, car ;cat;',   # spaces and a trailing separator
        '"img/with,comma.jpg",dog',
        'img/3.jpg,',             # no labels: all negative
    ]))
    ds = CsvMultiLabelDataset(ann_file='train.csv', classes=classes,
                              data_root=str(tmp_path), data_prefix='data')
    assert ds.CLASSES == tuple(CLASSES)
    prefix = osp.join(str(tmp_path), 'data')
    assert labels_of(ds) == {
        osp.join(prefix, 'img/1.jpg'): [0, 1],
        osp.join(prefix, 'img/2.jpg'): [0, 2],
        osp.join(prefix, 'img/with,comma.jpg'): [1],
        osp.join(prefix, 'img/3.jpg'): [],
    }
    assert ds.get_label_matrix().tolist() == [
        [1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 0]]
    # the same list as TXT with tabs, no header, classes as a list
    txt = write(tmp_path / 'train.txt', 'a.jpg\tcat|car\nb.jpg\tdog\n')
    ds = CsvMultiLabelDataset(ann_file=txt, classes=CLASSES, sep='\t',
                              label_sep='|')
    assert labels_of(ds) == {'a.jpg': [0, 2], 'b.jpg': [1]}


@pytest.mark.parametrize('content, match', [
    ('a.jpg,cat\nb.jpg,cow\n',
     r"bad\.csv:2 \(field 'labels'\): unknown class name 'cow'"),
    ('a.jpg,cat\nb.jpg,cat,dog\n',
     r'bad\.csv:2: malformed line: expected 2 fields .* got 3; separate '
     r"labels with ';'"),
    ('a.jpg,cat\nb.jpg\n',
     r"bad\.csv:2: malformed line: .* got 1 \(is the separator ','\?\)"),
    ('a.jpg,cat\nb.jpg,dog\na.jpg,car\n',
     r"bad\.csv:3: duplicate image 'a\.jpg' \(first at line 1\)"),
    ('image_path,labels\n', r'bad\.csv: no samples'),
    ('', r'bad\.csv: annotation file is empty'),
    ('a.jpg,cat\n ,dog\n', r"bad\.csv:2 \(field 'image_path'\): empty image"),
])
def test_csv_errors_name_file_and_line(tmp_path, content, match):
    ann = write(tmp_path / 'bad.csv', content)
    with pytest.raises(DatasetFormatError, match=match):
        CsvMultiLabelDataset(ann_file=ann, classes=CLASSES)


def test_csv_argument_errors(tmp_path):
    ann = write(tmp_path / 'a.csv', 'a.jpg,cat\n')
    with pytest.raises(ValueError, match='classes is required'):
        CsvMultiLabelDataset(ann_file=ann)
    dup = write(tmp_path / 'classes.txt', 'cat\ndog\ncat\n')
    with pytest.raises(DatasetFormatError,
                       match=r"classes\.txt: class name 'cat' appears twice"):
        CsvMultiLabelDataset(ann_file=ann, classes=dup)
    with pytest.raises(DatasetFormatError, match=r'no labels'):
        CsvMultiLabelDataset(ann_file=write(tmp_path / 'b.csv', 'b.jpg,\n'),
                             classes=CLASSES, allow_empty=False)
    with pytest.raises(ValueError, match='header must be'):
        CsvMultiLabelDataset(ann_file=ann, classes=CLASSES, header='yes')


# ---------------------------------------------------------------- JSON
def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def test_json_dataset_ids_and_names(tmp_path):
    ann = write_json(tmp_path / 'ann.json', dict(
        metainfo=dict(classes=CLASSES),
        data_list=[dict(img_path='a.jpg', gt_label=[2, 0]),
                   dict(img_path='b.jpg', gt_label=['dog', 'car']),
                   dict(img_path='c.jpg', gt_label=1,
                        gt_label_difficult=['cat'])]))
    ds = CheckedMultiLabelDataset(ann_file=ann, data_prefix='imgs')
    assert ds.CLASSES == tuple(CLASSES)
    assert labels_of(ds) == {'imgs/a.jpg': [0, 2], 'imgs/b.jpg': [1, 2],
                             'imgs/c.jpg': [1]}
    assert ds.get_data_info(2)['gt_label_difficult'] == [0]
    assert ds.get_label_matrix()[2].tolist() == [-1, 1, 0]
    # classes from the arguments win over the file's
    ann = write_json(tmp_path / 'ids.json', dict(
        metainfo=dict(classes=CLASSES),
        data_list=[dict(img_path='a.jpg', gt_label=[2, 0])]))
    ds = CheckedMultiLabelDataset(ann_file=ann, classes=['a', 'b', 'c'])
    assert ds.CLASSES == ('a', 'b', 'c')
    assert labels_of(ds) == {'a.jpg': [0, 2]}


@pytest.mark.parametrize('data_list, match', [
    ([dict(img_path='a.jpg', gt_label=[0]), dict(img_path='b', gt_label=[3])],
     r"ann\.json \(field 'data_list\[1\]\.gt_label'\): label id 3 is out "
     r'of range \[0, 3\)'),
    ([dict(img_path='a.jpg', gt_label=['cow'])],
     r"\(field 'data_list\[0\]\.gt_label'\): unknown class name 'cow'"),
    ([dict(img_path='a.jpg', gt_label=[0.5])],
     r"\(field 'data_list\[0\]\.gt_label'\): label id 0.5 is not an integer"),
    ([dict(img_path='a.jpg', gt_label=[0]), dict(img_path='a.jpg',
                                                  gt_label=[1])],
     r"ann\.json: duplicate image 'a\.jpg' \(entries 0 and 1\)"),
    ([dict(gt_label=[0])],
     r"\(field 'data_list\[0\]\.img_path'\): missing or empty img_path"),
    ([dict(img_path='a.jpg')],
     r"\(field 'data_list\[0\]\.gt_label'\): missing gt_label"),
    ([], r"\(field 'data_list'\): data_list is empty"),
])
def test_json_errors_name_file_and_field(tmp_path, data_list, match):
    ann = write_json(tmp_path / 'ann.json',
                     dict(metainfo=dict(classes=CLASSES),
                          data_list=data_list))
    with pytest.raises(DatasetFormatError, match=match):
        CheckedMultiLabelDataset(ann_file=ann)


def test_json_file_errors(tmp_path):
    ann = write_json(tmp_path / 'noclass.json',
                     dict(data_list=[dict(img_path='a', gt_label=[0])]))
    with pytest.raises(DatasetFormatError,
                       match=r"noclass\.json \(field 'metainfo\.classes'\)"):
        CheckedMultiLabelDataset(ann_file=ann)
    bad = write(tmp_path / 'bad.json', '{"data_list": [\n\n  {"a": 1\n]}')
    with pytest.raises(DatasetFormatError, match=r'bad\.json:4: invalid JSON'):
        CheckedMultiLabelDataset(ann_file=bad)
    empty = write(tmp_path / 'empty.json', '  \n')
    with pytest.raises(DatasetFormatError, match=r'empty\.json: .*empty'):
        CheckedMultiLabelDataset(ann_file=empty)


# ---------------------------------------------------------------- images
def image_dataset(tmp_path, **kwargs):
    make_image(tmp_path / 'img' / 'good.jpg')
    (tmp_path / 'img' / 'corrupt.jpg').write_bytes(b'\xff\xd8 not a jpeg')
    lines = ['good.jpg,cat', 'corrupt.jpg,dog']
    if kwargs.pop('with_missing', False):
        lines.append('missing.jpg,car')
    ann = write(tmp_path / 'list.csv', '\n'.join(lines) + '\n')
    return CsvMultiLabelDataset(ann_file=ann, classes=CLASSES,
                                data_prefix=str(tmp_path / 'img'), **kwargs)


def test_check_images_at_load(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match=r'1 of 3 images listed in .*list\.csv are missing'
                       r'(.|\n)*missing\.jpg'):
        image_dataset(tmp_path, with_missing=True, check_images=True)
    # existence only: the corrupt file passes
    assert len(image_dataset(tmp_path, check_images='exists')) == 2
    with pytest.raises(CorruptImageError,
                       match=r'corrupt image file .*corrupt\.jpg.*list\.csv'):
        image_dataset(tmp_path, check_images='decode')
    with pytest.warns(UserWarning, match=r'skipped 1 corrupt image\(s\) of 2'):
        ds = image_dataset(tmp_path, check_images='decode',
                           on_corrupt='skip')
    assert [osp.basename(p) for p in labels_of(ds)] == ['good.jpg']
    with pytest.raises(ValueError, match='check_images must be one of'):
        image_dataset(tmp_path, check_images='all')


def test_checked_loading_transform(tmp_path):
    ds = image_dataset(tmp_path, with_missing=True)  # no check at load
    load = CheckedLoadImageFromFile()
    out = load(ds.get_data_info(0))
    assert out['img'].shape == (16, 24, 3)
    with pytest.raises(CorruptImageError,
                       match=r"cannot decode image '.*corrupt\.jpg' "
                       r'\(sample 1\)'):
        load(ds.get_data_info(1))
    with pytest.raises(FileNotFoundError,
                       match=r"image file not found: '.*missing\.jpg' "
                       r'\(sample 2\).*check_images=True'):
        load(ds.get_data_info(2))
    skip = CheckedLoadImageFromFile(on_corrupt='skip')
    with pytest.warns(UserWarning, match=r'1 skipped so far'):
        assert skip(ds.get_data_info(1)) is None
    with pytest.warns(UserWarning, match=r'2 skipped so far'):
        assert skip(ds.get_data_info(1)) is None
    with pytest.raises(FileNotFoundError):  # missing files never skip
        skip(ds.get_data_info(2))


def test_training_dataset_skips_corrupt_images(tmp_path):
    ds = image_dataset(tmp_path, pipeline=[
        dict(type='CheckedLoadImageFromFile', on_corrupt='skip'),
        dict(type='PackInputs')])
    with pytest.warns(UserWarning, match='skipped corrupt image'):
        for _ in range(3):  # the corrupt sample is replaced by another
            out = ds[1]
            assert out['data_samples'].img_path.endswith('good.jpg')


# ---------------------------------------------------------------- converters
def test_convert_csv_folder_to_json(tmp_path):
    src = tmp_path / 'lists'
    write(src / 'train.csv', 'image_path,labels\na.jpg,dog;cat\nb.jpg,bird\n')
    write(src / 'val.csv', 'c.jpg,cat\nd.jpg,\n')
    outs = json_tool.main(['csv', str(src), '--out-dir',
                           str(tmp_path / 'json')])
    assert sorted(osp.basename(o) for o in outs) == ['train.json',
                                                      'val.json']
    classes = (tmp_path / 'json' / 'classes.txt').read_text().split()
    assert classes == ['bird', 'cat', 'dog']  # sorted union of the labels
    train = CheckedMultiLabelDataset(ann_file=str(tmp_path / 'json' /
                                                  'train.json'))
    assert train.CLASSES == ('bird', 'cat', 'dog')
    assert labels_of(train) == {'a.jpg': [1, 2], 'b.jpg': [0]}
    val = CheckedMultiLabelDataset(ann_file=str(tmp_path / 'json' /
                                                'val.json'))
    assert labels_of(val) == {'c.jpg': [1], 'd.jpg': []}
    # an unknown class with an explicit class list is a located error
    cls = write(tmp_path / 'cls.txt', 'cat\ndog\n')
    with pytest.raises(DatasetFormatError, match=r"train\.csv:3 .*'bird'"):
        json_tool.main(['csv', str(src), '--classes', cls, '--out-dir',
                        str(tmp_path / 'json2')])


def test_convert_coco_to_json(coco128_root, tmp_path):
    ann = osp.join(coco128_root, 'annotations', 'instances_train2017.json')
    out = str(tmp_path / 'coco128.json')
    json_tool.main(['coco', ann, '--out', out, '--img-prefix', 'train2017'])
    converted = CheckedMultiLabelDataset(ann_file=out, data_root=coco128_root,
                                         check_images=True)
    direct = CocoMultiLabel(ann_file=ann, data_prefix=osp.join(
        coco128_root, 'train2017'))
    assert converted.CLASSES == direct.CLASSES
    got = labels_of(converted)
    assert got == {osp.join(coco128_root, k[len(coco128_root) + 1:]): v
                   for k, v in labels_of(direct).items()}
    assert len(got) == 126


def test_pickle_converter_needs_trust(tmp_path):
    pkl = tmp_path / 'ann.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump([dict(file_name='a.jpg', labels=np.array([1, 0, 1])),
                     dict(file_name='b.jpg', labels=np.array([0, -1, 1]))],
                    f)
    with pytest.raises(SystemExit, match='refusing to unpickle .*ann\\.pkl'):
        pkl_tool.main([str(pkl)])
    classes = write(tmp_path / 'classes.txt', 'x\ny\nz\n')
    out = pkl_tool.main([str(pkl), '--trust-pickle', '--classes', classes])
    ds = CheckedMultiLabelDataset(ann_file=out)
    assert ds.CLASSES == ('x', 'y', 'z')
    assert labels_of(ds) == {'a.jpg': [0, 2], 'b.jpg': [2]}
    assert ds.get_data_info(1)['gt_label_ignore'] == [1]
    # {image: names} with the class list inside the pickle
    with open(pkl, 'wb') as f:
        pickle.dump(dict(images=['p.jpg', 'q.jpg'],
                         labels=[['car'], ['cat', 'car']],
                         classes=['cat', 'car']), f)
    ds = CheckedMultiLabelDataset(ann_file=pkl_tool.main(
        [str(pkl), '--trust-pickle', '--out', str(tmp_path / 'o.json')]))
    assert labels_of(ds) == {'p.jpg': [1], 'q.jpg': [0, 1]}


class _Evil:
    def __reduce__(self):
        return (os.system, ('touch pwned',))


def test_pickle_converter_allow_list_blocks_code(tmp_path):
    pkl = tmp_path / 'evil.pkl'
    with open(pkl, 'wb') as f:
        pickle.dump([dict(file_name='a.jpg', labels=[0], x=_Evil())], f)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(pickle.UnpicklingError,
                           match=r'needs (posix|os)\.system, which is not on '
                           'the allow-list'):
            pkl_tool.main([str(pkl), '--trust-pickle'])
    finally:
        os.chdir(cwd)
    assert not (tmp_path / 'pwned').exists()


# ---------------------------------------------------------------- transforms
@pytest.mark.parametrize('shape', [(40, 60), (90, 30)])
def test_relative_cutout_hole_scales_with_image(shape):
    from mmpretrain_multilabel.datasets import RelativeCutout
    h, w = shape
    cut = RelativeCutout(factor=0.5, prob=1.0, pad_val=0)
    areas = []
    for seed in range(40):
        np.random.seed(seed)
        img = np.full((h, w, 3), 255, np.uint8)
        out = cut(dict(img=img))['img']
        rows, cols = np.nonzero((out == 0).all(-1))
        assert len(rows) > 0
        # one rectangle, at most factor x the sides
        assert rows.max() - rows.min() + 1 <= h // 2
        assert cols.max() - cols.min() + 1 <= w // 2
        assert len(rows) == (rows.max() - rows.min() + 1) * (
            cols.max() - cols.min() + 1)
        areas.append(len(rows))
    assert max(areas) == (h // 2) * (w // 2)  # uncut by the border
    never = RelativeCutout(factor=0.5, prob=0.0)
    img = np.full((h, w, 3), 255, np.uint8)
    assert (never(dict(img=img))['img'] == 255).all()
    with pytest.raises(ValueError, match='factor must be in'):
        RelativeCutout(factor=1.5)
