"""OpenImagesMultiLabel on synthetic files in the official V6 layout: targets against
a csv-module reading of the same files, the Sec. 4.1 split joining, the subsets, the
vectorised parser (chunks, CRLF, blank lines) and located errors."""
import csv
import os.path as osp

import numpy as np
import pytest
import torch
from mmpretrain.registry import DATASETS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import DatasetFormatError, OpenImagesMultiLabel
from mmpretrain_multilabel.datasets.openimages import SUBSETS
from mmpretrain_multilabel.datasets.openimages_csv import (
    class_vocabulary,
    read_class_descriptions,
    read_image_labels,
)
from mmpretrain_multilabel.datasets.openimages_synthetic import write_openimages_fixture

K = 12


@pytest.fixture(scope='module')
def boxable(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('oi_boxable'))
    info = write_openimages_fixture(root, num_classes=K, img_size=16,
                                    num_images=dict(train=10, validation=5, test=6))
    return root, info


def reference_targets(root, subset, parts, mids):
    """``{ImageID: dense target}`` read with the csv module (1 / 0 / -1)."""
    index = {m: i for i, m in enumerate(mids)}
    out = {}
    for part in parts:
        with open(osp.join(root, SUBSETS[subset]['label_files'][part])) as f:
            for row in csv.DictReader(f):
                target = out.setdefault((part, row['ImageID']), np.full(len(mids), -1.0))
                if row['LabelName'] in index:
                    c = index[row['LabelName']]
                    target[c] = max(target[c], float(row['Confidence']))
    return {k: v for k, v in out.items() if (v == 1).any()}


@pytest.mark.parametrize('split,parts', [('train', ('train', 'test')),
                                         ('val', ('validation', ))])
def test_targets_match_a_csv_reading_and_parts_are_joined(boxable, split, parts):
    root, info = boxable
    ds = DATASETS.build(dict(type='OpenImagesMultiLabel', data_root=root, split=split))
    ref = reference_targets(root, 'boxable', parts, info['mids'])
    assert len(ds) == len(ref)
    assert ds.CLASSES == tuple(info['names'])
    seen = set()
    for i in range(len(ds)):
        d = ds.get_data_info(i)
        part, image_id = osp.basename(osp.dirname(d['img_path'])), \
            osp.basename(d['img_path'])[:-4]
        seen.add((part, image_id))
        np.testing.assert_array_equal(d['gt_score'], ref[(part, image_id)])
        np.testing.assert_array_equal(d['gt_label'], np.flatnonzero(d['gt_score'] == 1))
        assert osp.isfile(d['img_path'])
    assert seen == set(ref)
    assert {p for p, _ in seen} == set(parts)
    np.testing.assert_array_equal(ds.get_label_matrix(),
                                  np.stack([ds.get_data_info(i)['gt_score']
                                            for i in range(len(ds))]))


def test_all_subset_uses_trainable_classes_and_drops_other_known_mids(tmp_path):
    info = write_openimages_fixture(str(tmp_path), num_classes=K, subset='all',
                                    extra_classes=2)
    ds = OpenImagesMultiLabel(str(tmp_path), subset='all', split='train')
    assert len(ds.mids) == K and ds.mids == tuple(info['mids'])
    assert ds.CLASSES[0] == 'Class 0, synthetic'  # quoted DisplayName with a comma
    assert ds.num_untrained_labels == 2  # one row of a non-trainable MID per part
    ref = reference_targets(str(tmp_path), 'all', ('train', 'test'), info['mids'])
    assert len(ds) == len(ref)


def test_options_join_test_drop_empty_unverified_as(boxable):
    root, _ = boxable
    with pytest.raises(ValueError, match='join_test=False'):
        OpenImagesMultiLabel(root, split='test')
    only_train = OpenImagesMultiLabel(root, split='train', join_test=False)
    assert all('/train/' in only_train.get_data_info(i)['img_path']
               for i in range(len(only_train)))
    assert len(OpenImagesMultiLabel(root, split='test', join_test=False)) + \
        len(only_train) == len(OpenImagesMultiLabel(root, split='train'))
    as_negative = OpenImagesMultiLabel(root, split='val', unverified_as=0)
    assert set(np.unique(as_negative.get_label_matrix())) <= {0, 1}
    with pytest.raises(ValueError, match='unverified_as'):
        OpenImagesMultiLabel(root, unverified_as=1)


def test_images_without_positives_are_dropped_unless_asked(tmp_path):
    write_openimages_fixture(str(tmp_path), num_classes=4, num_images=dict(validation=3))
    path = osp.join(str(tmp_path), SUBSETS['boxable']['label_files']['validation'])
    mid = read_class_descriptions(osp.join(str(tmp_path), 'class-descriptions-boxable.csv')
                                  ).mids[0]
    with open(path, 'a') as f:
        f.write(f'ffffffffffffffff,verification,{mid},0\n')
    assert len(OpenImagesMultiLabel(str(tmp_path), split='val')) == 3
    kept = OpenImagesMultiLabel(str(tmp_path), split='val', drop_empty=False)
    assert len(kept) == 4
    last = kept.get_data_info(3)
    assert last['img_path'].endswith('validation/ffffffffffffffff.jpg')
    assert list(last['gt_score']) == [0, -1, -1, -1] and len(last['gt_label']) == 0


def test_parser_is_independent_of_chunks_line_endings_and_blank_lines(boxable, tmp_path):
    root, info = boxable
    desc = read_class_descriptions(osp.join(root, 'class-descriptions-boxable.csv'))
    vocab, vocab_class = class_vocabulary(desc.mids, desc.mids)
    src = osp.join(root, SUBSETS['boxable']['label_files']['train'])
    whole = read_image_labels(src, vocab, vocab_class)
    text = open(src).read().splitlines()
    crlf = tmp_path / 'crlf.csv'
    crlf.write_bytes(('\r\n'.join(text[:5] + [''] + text[5:])).encode())  # no final EOL
    for path, chunk in [(src, 64), (str(crlf), 100), (str(crlf), 1 << 20)]:
        got = read_image_labels(path, vocab, vocab_class, chunk_bytes=chunk)
        for name in ('row_class', 'row_value'):
            np.testing.assert_array_equal(getattr(got, name), getattr(whole, name))
        # runs may split at chunk borders; the ImageID of every row is the same
        np.testing.assert_array_equal(got.run_keys[got.row_run], whole.run_keys[whole.row_run])
    # line numbers count the header: the first run starts at line 2
    assert whole.run_lines[0] == 2


def _break(root, part, line, text):
    path = osp.join(root, SUBSETS['boxable']['label_files'][part])
    lines = open(path).read().splitlines()
    lines[line - 1] = text
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


@pytest.mark.parametrize('text,message', [
    ('0123456789abcdef,verification,/m/0nope,1', "unknown MID '/m/0nope'"),
    ('0123456789abcdef,verification,1', 'malformed row'),
    ('0123456789abcdef,verification,{mid},0.5', 'Confidence must be 1'),
    ('0123456789abcdef,,{mid},1', 'empty Source'),
])
def test_bad_rows_are_named_with_file_and_line(tmp_path, text, message):
    info = write_openimages_fixture(str(tmp_path), num_classes=4)
    path = _break(str(tmp_path), 'train', 4, text.format(mid=info['mids'][0]))
    with pytest.raises(DatasetFormatError, match=message) as e:
        OpenImagesMultiLabel(str(tmp_path), split='train')
    assert f'{path}:4' in str(e.value)


def test_header_class_files_and_image_checks_are_validated(tmp_path):
    info = write_openimages_fixture(str(tmp_path), num_classes=4, img_size=8)
    root = str(tmp_path)
    path = _break(root, 'validation', 1, 'ImageID,LabelName,Confidence')
    with pytest.raises(DatasetFormatError, match=f'{path}:1.*expected the header'):
        OpenImagesMultiLabel(root, split='val')
    write_openimages_fixture(root, num_classes=4, img_size=8)
    # an image listed in two parts
    first = open(osp.join(root, SUBSETS['boxable']['label_files']['test'])).readlines()[1]
    _break(root, 'train', 2, first.strip())
    with pytest.raises(DatasetFormatError, match='is also listed in'):
        OpenImagesMultiLabel(root, split='train')
    # a missing image, found at load time with check_images
    info = write_openimages_fixture(root, num_classes=4, img_size=8)
    image_id = info['images']['validation'][1]
    import os
    os.remove(osp.join(root, 'validation', image_id + '.jpg'))
    assert len(OpenImagesMultiLabel(root, split='val')) == 4  # not checked by default
    with pytest.raises(FileNotFoundError, match=image_id) as e:
        OpenImagesMultiLabel(root, split='val', check_images=True)
    assert 'validation-annotations-human-imagelabels-boxable.csv:' in str(e.value)
    # class descriptions: a duplicate MID, and a trainable list naming an unknown MID
    with open(osp.join(root, 'class-descriptions-boxable.csv'), 'a') as f:
        f.write(f'{info["mids"][2]},Again\n')
    with pytest.raises(DatasetFormatError, match='class-descriptions-boxable.csv:5'):
        OpenImagesMultiLabel(root, split='val')
    write_openimages_fixture(root, num_classes=4, subset='all')
    with open(osp.join(root, 'oidv6-classes-trainable.txt'), 'a') as f:
        f.write('/m/0unknown\n')
    with pytest.raises(DatasetFormatError, match="oidv6-classes-trainable.txt:5.*'/m/0unknown'"):
        OpenImagesMultiLabel(root, subset='all', split='val')


def test_pipeline_packs_the_ignored_targets_and_subsets_share_arrays(boxable):
    root, _ = boxable
    ds = OpenImagesMultiLabel(root, split='val', pipeline=[
        dict(type='CheckedLoadImageFromFile'), dict(type='PackInputs')], indices=[3, 1])
    assert len(ds) == 2
    sample = ds[0]['data_samples']
    full = OpenImagesMultiLabel(root, split='val')
    torch.testing.assert_close(sample.gt_score, torch.from_numpy(full.get_data_info(3)['gt_score']))
    assert (sample.gt_score == -1).any()
    sub = full.get_subset([3, 0])
    assert sub._labels is full._labels and len(sub) == 2
    assert sub.get_data_info(1)['img_path'] == full.get_data_info(0)['img_path']
