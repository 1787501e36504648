"""Save a config's model as its training would start, without training.

The classifier transferred from the backbone's ImageNet classifier through
the class names and, where the config's ``ClassifierTransferHook`` sets
``linear_probe=True`` (every ``configs/coco319/*-transfer-*`` config), fitted
in closed form to the training labels: seconds on a CPU. With tens to about
150 photos this start ranks held-out photos better than the same configs
trained for 12 epochs (docs/training_strategy.md, "Few photos")::

    python tools/fit_start.py CONFIG [--work-dir DIR] [--cfg-options ...]
    python tools/test.py CONFIG DIR/start.pth

Its scores rank photos (mAP) but are not calibrated at the heads' default
threshold of 0.5 (a cosine head's ``sigmoid(s * cos)`` of a classifier no
loss has shaped): before predicting label sets, tune per-class thresholds
(``tools/tune_thresholds.py CONFIG DIR/start.pth --out thresholds.json``)
and give them to ``tools/infer.py --thresholds thresholds.json``.
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis.short_run import save_start


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where to write start.pth (default: '
                        'work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings of the config, as in tools/train.py')
    return parser.parse_args(argv)


def main(argv=None) -> str:
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    work_dir = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    os.makedirs(work_dir, exist_ok=True)
    path = save_start(cfg, osp.join(work_dir, 'start.pth'))
    print(f'Start saved to {path}\n'
          f'Evaluate: python tools/test.py {args.config} {path}\n'
          f'Label sets need tuned thresholds (the scores are not calibrated at 0.5): '
          f'python tools/tune_thresholds.py {args.config} {path} --out thresholds.json, '
          f'then tools/infer.py ... --thresholds thresholds.json')
    return path


if __name__ == '__main__':
    main()
