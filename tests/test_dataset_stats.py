"""tools/dataset_stats.py and the statistics it reports."""
import csv
import json
import os.path as osp
from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from PIL import Image

from mmpretrain_multilabel.datasets.statistics import (
    cooccurrence,
    label_statistics,
)

from .dataset_test_utils import fast_gc  # noqa: F401
from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
dataset_stats = load_script('tools/dataset_stats.py')


def test_label_statistics_against_plain_counting():
    rng = np.random.RandomState(0)
    mat = (rng.rand(40, 6) < 0.35).astype(np.int8)
    mat[rng.rand(40, 6) < 0.1] = -1   # ignored entries
    mat[:, 5] = np.where(mat[:, 5] == 1, 0, mat[:, 5])  # class 5: none
    classes = list('abcdef')
    stats = label_statistics(mat, classes, top_k=4)

    rows = [[c for c in range(6) if mat[i, c] == 1] for i in range(40)]
    for c, entry in enumerate(stats['per_class']):
        assert entry['positives'] == sum(c in r for r in rows)
        assert entry['negatives'] == sum(mat[i, c] == 0 for i in range(40))
        assert entry['ignored'] == sum(mat[i, c] == -1 for i in range(40))
    assert stats['per_class'][5]['neg_pos_ratio'] is None
    assert stats['classes_without_positives'] == ['f']
    sizes = [len(r) for r in rows]
    assert stats['labels_per_image']['mean'] == pytest.approx(np.mean(sizes))
    assert stats['labels_per_image']['histogram'] == dict(Counter(sizes))
    assert stats['images_without_labels'] == sizes.count(0)
    assert stats['neg_pos_ratio'] == pytest.approx(
        (mat == 0).sum() / (mat == 1).sum())

    pairs = Counter(p for r in rows for p in combinations(r, 2))
    expected = sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:4]
    got = [((classes.index(p['a']), classes.index(p['b'])), p['count'])
           for p in stats['top_pairs']]
    assert got == expected
    first = stats['top_pairs'][0]
    n_a = sum(classes.index(first['a']) in r for r in rows)
    assert first['p_b_given_a'] == pytest.approx(first['count'] / n_a)

    cooc = cooccurrence(mat)
    assert cooc[0, 1] == pairs[(0, 1)] and cooc[2, 2] == sum(
        2 in r for r in rows)


def test_tool_on_coco128(coco128_root, tmp_path):
    ann = osp.join(coco128_root, 'annotations', 'instances_train2017.json')
    stats = dataset_stats.main([ann, '--out-dir', str(tmp_path),
                                '--top-k', '5'])
    with open(ann) as f:
        coco = json.load(f)
    names = {c['id']: c['name'] for c in coco['categories']}
    per_image = {}
    for a in coco['annotations']:
        per_image.setdefault(a['image_id'], set()).add(names[a['category_id']])
    counts = Counter(n for labels in per_image.values() for n in labels)
    assert stats['num_images'] == 126 and stats['num_classes'] == 80
    assert {c['name']: c['positives'] for c in stats['per_class']} == \
        {n: counts.get(n, 0) for n in names.values()}
    assert stats['labels_per_image']['max'] == max(
        len(v) for v in per_image.values())
    pairs = Counter(p for labels in per_image.values()
                    for p in combinations(sorted(labels), 2))
    top = stats['top_pairs'][0]
    assert top['count'] == max(pairs.values())
    assert pairs[tuple(sorted((top['a'], top['b'])))] == top['count']

    saved = json.loads((tmp_path / 'stats.json').read_text())
    assert saved['per_class'] == stats['per_class']
    with open(tmp_path / 'class_counts.csv') as f:
        rows = list(csv.DictReader(f))
    assert rows[0]['class'] == 'person'
    assert int(rows[0]['positives']) == counts['person']
    with Image.open(tmp_path / 'cooccurrence.png') as img:
        assert img.size[0] > 300 and img.size[1] > 300


def test_tool_on_config_and_csv(tmp_path):
    (tmp_path / 'list.csv').write_text(
        'a.jpg,cat;dog\nb.jpg,dog\nc.jpg,car;dog\n')
    (tmp_path / 'classes.txt').write_text('cat\ndog\ncar\n')
    # a CSV file directly (images are never read: they do not exist)
    stats = dataset_stats.main([str(tmp_path / 'list.csv'), '--classes',
                                str(tmp_path / 'classes.txt'), '--out-dir',
                                str(tmp_path / 'csv')])
    assert [c['positives'] for c in stats['per_class']] == [1, 3, 1]
    assert stats['top_pairs'][0]['count'] == 1
    # the same data through a config's dataloader
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "custom_imports = dict(imports=['mmpretrain_multilabel'])\n"
        "val_dataloader = dict(dataset=dict(type='CsvMultiLabelDataset', "
        f"ann_file={str(tmp_path / 'list.csv')!r}, "
        f"classes={str(tmp_path / 'classes.txt')!r}, "
        "pipeline=[dict(type='LoadImageFromFile')]))\n")
    stats2 = dataset_stats.main([str(cfg), '--split', 'val', '--out-dir',
                                 str(tmp_path / 'cfg')])
    assert stats2['per_class'] == stats['per_class']
    assert (tmp_path / 'cfg' / 'cooccurrence.png').exists()
    with pytest.raises(SystemExit, match='no train_dataloader'):
        dataset_stats.main([str(cfg), '--out-dir', str(tmp_path / 'x')])
    with pytest.raises(SystemExit, match='needs classes'):
        dataset_stats.main([str(tmp_path / 'list.csv')])
