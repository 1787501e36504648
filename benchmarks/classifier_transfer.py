"""The classifier's start on real photos, before any training.

Usage::

    python benchmarks/classifier_transfer.py [--data-root data/coco128]
        [--temperatures 0.02 0.05 0.1]

Builds the stock coco128 model (EfficientNet-Lite0 with its offline ImageNet
weights, GAP, linear head) and the recommended recipe's (GAP, cosine head),
and ranks the 126 annotated coco128 photos with each head as built (random)
and as ``ClassifierTransferHook`` sets it (the ImageNet classifier mapped to
COCO's 80 names through GloVe) at each temperature. Prints the mAP (classes
without positives excluded) beside the chance level of a random ranking. No
image trains anything; the photos' labels only score the rankings.
"""
import argparse
import os.path as osp
import time

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.short_run import dataset_map, start_model
from mmpretrain_multilabel.datasets import dataset_label_matrix
from mmpretrain_multilabel.engine.hooks import ClassifierTransferHook
from mmpretrain_multilabel.evaluation import chance_map

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
HEADS = {
    'linear (stock)': 'lite0_linear-asl_1xb16_coco319-224px.py',
    'cosine (recipe)': 'lite0_cosine-aam-transfer-recipe_1xb16_coco319-224px.py',
}


def build(config: str, data_root: str):
    """The model of ``config`` as training starts, its head as built (random),
    and the 126 annotated photos through its test pipeline."""
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'coco319', config))
    cfg.custom_hooks = []  # the head as built
    init_default_scope('mmpretrain')
    dataset = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=data_root,
                                  indices=None))
    return start_model(cfg, dataset.metainfo['classes']), dataset


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data-root', default=osp.join(ROOT, 'data', 'coco128'))
    parser.add_argument('--temperatures', type=float, nargs='+', default=[0.02, 0.05, 0.1])
    args = parser.parse_args(argv)
    if not osp.isdir(args.data_root):
        parser.error(f'coco128 not found at {osp.abspath(args.data_root)} (--data-root)')
    start = time.perf_counter()
    rows = []
    for head, config in HEADS.items():
        model, dataset = build(config, osp.abspath(args.data_root))
        cells = [dataset_map(model, dataset)]
        for temperature in args.temperatures:
            ClassifierTransferHook(temperature=temperature).transfer(
                model, dataset.metainfo['classes'])
            cells.append(dataset_map(model, dataset))
        rows.append(f'| {head} | {chance_map(dataset_label_matrix(dataset)):.1f} | ' +
                    ' | '.join(f'{c:.1f}' for c in cells) + ' |')
    print(f'coco128, {len(dataset)} annotated photos, no training; '
          f'{time.perf_counter() - start:.0f} s\n')
    print('| head | chance | random | ' +
          ' | '.join(f'transferred, T = {t:g}' for t in args.temperatures) + ' |')
    print('|---' * (3 + len(args.temperatures)) + '|')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
