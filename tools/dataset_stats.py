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

from mmengine.config import Config, DictAction

import mmpretrain_multilabel  # noqa: F401  registers the datasets
from mmpretrain_multilabel.datasets import (
    DatasetFormatError,
    build_label_dataset,
    dataset_from_annotation_file,
    dataset_label_matrix,
)
from mmpretrain_multilabel.datasets.statistics import cooccurrence, label_statistics
from mmpretrain_multilabel.evaluation.plots import plot_cooccurrence


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
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    return parser.parse_args(argv)


def load_dataset(args):
    """The dataset of a config's split or of an annotation file (labels
    only, no image is read) and a name for the outputs."""
    if args.source.endswith('.py'):
        cfg = Config.fromfile(args.source)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        loader = cfg.get(f'{args.split}_dataloader')
        if loader is None:
            raise SystemExit(f'{args.source}: no {args.split}_dataloader')
        name = f'{osp.splitext(osp.basename(args.source))[0]}_{args.split}'
        return build_label_dataset(loader.dataset), name
    try:
        dataset = dataset_from_annotation_file(args.source, args.classes, args.data_root)
    except (FileNotFoundError, DatasetFormatError) as e:
        raise SystemExit(str(e)) from e
    return dataset, osp.splitext(osp.basename(args.source))[0]


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
    dataset, name = load_dataset(args)
    classes = list(dataset.metainfo['classes'])
    mat = dataset_label_matrix(dataset)
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
