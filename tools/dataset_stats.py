"""Label statistics of a multilabel dataset, from a config or an annotation file.

Prints and writes: counts per class, labels per image, positives/negatives
imbalance, the most frequent co-occurring pairs, and a PNG of the
co-occurrence matrix (row-normalised: P(column | row)).

Usage::

    python tools/dataset_stats.py CONFIG [--split train] [--out-dir DIR]
    python tools/dataset_stats.py ANN_FILE [--classes FILE] [--out-dir DIR]

``ANN_FILE`` may be a COCO instances JSON, an MMPretrain ``MultiLabelDataset``
JSON, or a CSV/TXT list (``image_path,label_a;label_b``; needs ``--classes``).
Images are not read. Outputs in ``--out-dir`` (default
``work_dirs/dataset_stats/<name>``): ``stats.json``, ``class_counts.csv``,
``cooccurrence.png``.
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..'))

from mmpretrain_multilabel.datasets import (  # noqa: E402
    CheckedMultiLabelDataset,
    CocoMultiLabel,
    CsvMultiLabelDataset,
    label_matrix,
)
from mmpretrain_multilabel.datasets.statistics import (  # noqa: E402
    cooccurrence,
    label_statistics,
)
from mmpretrain_multilabel.evaluation.plots import plot_cooccurrence  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Label statistics of a multilabel dataset')
    parser.add_argument('source', help='config file or annotation file')
    parser.add_argument('--split', default='train',
                        choices=['train', 'val', 'test'],
                        help='dataloader of the config to read')
    parser.add_argument('--classes', help='class list (CSV/TXT input)')
    parser.add_argument('--data-root', default='',
                        help='data_root of an annotation file')
    parser.add_argument('--out-dir', help='where to write the outputs')
    parser.add_argument('--top-k', type=int, default=20,
                        help='number of co-occurring pairs to report')
    parser.add_argument('--cfg-options', nargs='+', default=None,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def dataset_from_config(path: str, split: str, cfg_options=None):
    from mmengine.config import Config, DictAction
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import DATASETS
    cfg = Config.fromfile(path)
    if cfg_options:
        opts = argparse.Namespace()
        DictAction(option_strings=[], dest='o')(None, opts, cfg_options)
        cfg.merge_from_dict(opts.o)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    loader = cfg.get(f'{split}_dataloader')
    if loader is None:
        raise SystemExit(f'{path}: no {split}_dataloader')
    ds_cfg = loader.dataset
    ds_cfg.pipeline = []  # labels only: never read the images
    return DATASETS.build(ds_cfg)


def dataset_from_file(path: str, classes=None, data_root: str = ''):
    if not osp.isfile(path):
        raise SystemExit(f'file not found: {path}')
    if path.lower().endswith('.json'):
        with open(path, 'rb') as f:
            raw = f.read()
        if b'"data_list"' in raw:
            return CheckedMultiLabelDataset(ann_file=path, classes=classes,
                                            data_root=data_root)
        if b'"annotations"' in raw and b'"categories"' in raw:
            return CocoMultiLabel(ann_file=path, data_root=data_root)
        raise SystemExit(f'{path}: neither a COCO instances file nor an '
                         'MMPretrain MultiLabelDataset file')
    if classes is None:
        raise SystemExit(f'{path}: a CSV/TXT list needs --classes')
    return CsvMultiLabelDataset(ann_file=path, classes=classes,
                                data_root=data_root)


def get_label_matrix(dataset) -> np.ndarray:
    if hasattr(dataset, 'get_label_matrix'):
        return dataset.get_label_matrix()
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return label_matrix(infos, len(dataset.metainfo['classes']))


def _fmt(value, digits: int = 1) -> str:
    return 'n/a' if value is None else f'{value:.{digits}f}'


def print_report(stats: dict, top: int = 10) -> None:
    lpi = stats['labels_per_image']
    print(f"images: {stats['num_images']}  classes: {stats['num_classes']}")
    print(f"labels per image: mean {lpi['mean']:.2f}  median "
          f"{lpi['median']:g}  min {lpi['min']}  max {lpi['max']}  "
          f"(images without labels: {stats['images_without_labels']})")
    print(f"positives {stats['positives']}  negatives {stats['negatives']}  "
          f"ignored {stats['ignored']}  neg/pos "
          f"{_fmt(stats['neg_pos_ratio'])}")
    if stats['classes_without_positives']:
        print(f"classes without positives "
              f"({len(stats['classes_without_positives'])}): "
              f"{', '.join(stats['classes_without_positives'][:10])}")
    per_class = sorted(stats['per_class'], key=lambda c: -c['positives'])
    print('\nmost frequent classes:            least frequent classes:')
    for a, b in zip(per_class[:top], per_class[::-1][:top]):
        print(f"  {a['name'][:20]:20s} {a['positives']:7d}    "
              f"  {b['name'][:20]:20s} {b['positives']:7d}")
    print('\ntop co-occurring pairs (count, P(b|a), P(a|b)):')
    for p in stats['top_pairs']:
        print(f"  {p['a']} + {p['b']}: {p['count']}  "
              f"{p['p_b_given_a']:.2f}  {p['p_a_given_b']:.2f}")


def main(argv=None):
    args = parse_args(argv)
    import mmpretrain_multilabel  # noqa: F401  registers the datasets
    if args.source.endswith('.py'):
        dataset = dataset_from_config(args.source, args.split,
                                      args.cfg_options)
        name = f'{osp.splitext(osp.basename(args.source))[0]}_{args.split}'
    else:
        dataset = dataset_from_file(args.source, args.classes,
                                    args.data_root)
        name = osp.splitext(osp.basename(args.source))[0]
    classes = list(dataset.metainfo['classes'])
    mat = get_label_matrix(dataset)
    stats = label_statistics(mat, classes, args.top_k)
    stats['source'] = args.source
    out_dir = args.out_dir or osp.join('work_dirs', 'dataset_stats', name)
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'stats.json'), 'w') as f:
        json.dump(stats, f, indent=1)
    with open(osp.join(out_dir, 'class_counts.csv'), 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['class', 'positives', 'negatives', 'ignored',
                         'frequency', 'neg_pos_ratio'])
        for c in stats['per_class']:
            writer.writerow([c['name'], c['positives'], c['negatives'],
                             c['ignored'], f"{c['frequency']:.6f}",
                             _fmt(c['neg_pos_ratio'], 3)])
    plot_cooccurrence(cooccurrence(mat), classes,
                      osp.join(out_dir, 'cooccurrence.png'), name)
    print_report(stats)
    print(f'\nwrote stats.json, class_counts.csv, cooccurrence.png to '
          f'{out_dir}')
    return stats


if __name__ == '__main__':
    main()
