"""Convert multilabel annotations to MMPretrain's ``MultiLabelDataset`` JSON.

The JSON is what ``MultiLabelDataset`` / ``CheckedMultiLabelDataset`` read::

    {"metainfo": {"classes": [...]},
     "data_list": [{"img_path": "img/1.jpg", "gt_label": [0, 3]}, ...]}

Sources (every input is validated by the plugin's loaders; errors name the
file and line):

``csv``: a CSV/TXT list (``image_path,label_a;label_b``) or a folder of them
(one JSON per file, e.g. ``train.csv`` -> ``train.json``, all with the same
class list)::

    python tools/dataset_converters/to_multilabel_json.py csv data/my/ \\
        --classes data/my/classes.txt --out-dir data/my/json

Without ``--classes`` the class list is the sorted union of the label names
of all inputs (written to ``classes.txt`` beside the JSON files).

``coco``: a COCO instances JSON (class order by category id; images without
annotations dropped unless ``--keep-empty``)::

    python tools/dataset_converters/to_multilabel_json.py coco \\
        data/coco/annotations/instances_val2017.json --out val.json \\
        --img-prefix val2017
"""
import argparse
import glob
import json
import os
import os.path as osp

from mmpretrain_multilabel.datasets import (
    CocoMultiLabel,
    CsvMultiLabelDataset,
)
from mmpretrain_multilabel.datasets.custom import (
    read_csv_rows,
    split_label_names,
)
from mmpretrain_multilabel.datasets.validation import (
    read_class_names,
)

LIST_EXTS = ('.csv', '.txt')
KEEP_KEYS = ('img_path', 'gt_label', 'gt_label_difficult', 'gt_label_ignore')


def write_json(path: str, classes, data_list) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    ann = dict(metainfo=dict(classes=list(classes)),
               data_list=[{k: d[k] for k in KEEP_KEYS if k in d}
                          for d in data_list])
    with open(path, 'w') as f:
        json.dump(ann, f)


def dataset_samples(dataset) -> list:
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def csv_inputs(src: str) -> list:
    if osp.isdir(src):
        files = sorted(f for f in glob.glob(osp.join(src, '*'))
                       if f.lower().endswith(LIST_EXTS) and
                       osp.basename(f) != 'classes.txt')
        if not files:
            raise SystemExit(f'{src}: no .csv/.txt lists in this folder')
        return files
    if not osp.isfile(src):
        raise SystemExit(f'not found: {src}')
    return [src]


def infer_classes(files, sep: str, label_sep: str) -> list:
    names = set()
    for file in files:
        for _, fields in read_csv_rows(file, sep):
            if len(fields) > 1:
                names.update(split_label_names(fields[1], label_sep))
    if not names:
        raise SystemExit('no label names found in the inputs')
    return sorted(names)


def convert_csv(args) -> list:
    files = csv_inputs(args.src)
    if args.classes:
        classes = list(read_class_names(args.classes))
    else:
        classes = infer_classes(files, args.sep, args.label_sep)
    if osp.isdir(args.src) or args.out_dir:
        out_dir = args.out_dir or args.src
        outs = [osp.join(out_dir, osp.splitext(osp.basename(f))[0] + '.json')
                for f in files]
    else:
        outs = [args.out or osp.splitext(args.src)[0] + '.json']
        out_dir = osp.dirname(osp.abspath(outs[0]))
    for file, out in zip(files, outs):
        ds = CsvMultiLabelDataset(
            ann_file=file, classes=classes, sep=args.sep,
            label_sep=args.label_sep, data_prefix=args.img_prefix)
        write_json(out, classes, dataset_samples(ds))
        print(f'{file}: {len(ds)} images -> {out}')
    if not args.classes:
        path = osp.join(out_dir, 'classes.txt')
        with open(path, 'w') as f:
            f.write('\n'.join(classes) + '\n')
        print(f'{len(classes)} classes (sorted union of the labels) -> {path}')
    return outs


def convert_coco(args) -> list:
    ds = CocoMultiLabel(ann_file=args.src, data_prefix=args.img_prefix,
                        keep_empty=args.keep_empty, crowd=args.crowd)
    out = args.out or osp.splitext(args.src)[0] + '_multilabel.json'
    samples = dataset_samples(ds)
    write_json(out, ds.metainfo['classes'], samples)
    print(f'{args.src}: {len(samples)} images, '
          f"{len(ds.metainfo['classes'])} classes -> {out}")
    return [out]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert CSV/TXT lists or COCO instances to '
        "MMPretrain's MultiLabelDataset JSON")
    sub = parser.add_subparsers(dest='source', required=True)
    p = sub.add_parser('csv', help='a CSV/TXT list or a folder of them')
    p.add_argument('src', help='CSV/TXT file or folder')
    p.add_argument('--classes', help='class list file (one name per line); '
                   'default: the sorted union of the labels')
    p.add_argument('--out', help='output JSON (single input)')
    p.add_argument('--out-dir', help='output folder (default: beside the '
                   'inputs)')
    p.add_argument('--sep', default=',', help='field separator')
    p.add_argument('--label-sep', default=';', help='label separator')
    p.add_argument('--img-prefix', default='',
                   help='prefix prepended to the image paths')
    p = sub.add_parser('coco', help='a COCO instances JSON')
    p.add_argument('src', help='instances JSON')
    p.add_argument('--out', help='output JSON')
    p.add_argument('--img-prefix', default='',
                   help='prefix prepended to file_name (e.g. val2017)')
    p.add_argument('--keep-empty', action='store_true',
                   help='keep images without annotations (all negative)')
    p.add_argument('--crowd', default='include',
                   choices=['include', 'exclude', 'ignore'],
                   help='how crowd annotations count')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.source == 'csv':
        return convert_csv(args)
    return convert_coco(args)


if __name__ == '__main__':
    main()
