"""GFLOPs and parameters of a config's model, whole and per part.

Usage::

    python tools/analysis_tools/get_flops.py CONFIG [--shape 448] [--compare-paper]

Counts are MMEngine's analyzer (multiply-adds, as fvcore). With
``--compare-paper`` the config's ``paper_reference['gflops']`` (the paper's
column) is printed beside them; the paper's counter is not standard (see
docs/flops.md).
"""
import argparse
import os
import sys

from mmengine.config import Config
from mmpretrain.registry import MODELS

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..'))
import mmpretrain_multilabel  # noqa: E402,F401
from mmpretrain_multilabel.utils.complexity import model_complexity  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count GFLOPs and parameters')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=None,
        help='input size: one value (square) or H W; default: the config\'s '
        'paper_reference["shape"], else 448')
    parser.add_argument(
        '--compare-paper', action='store_true',
        help="print the paper's GFLOPs column beside the count")
    return parser.parse_args(argv)


def build_inference_model(cfg: Config):
    """Build the model without loading pretrained weights."""
    model_cfg = cfg.model.copy()
    model_cfg.pop('init_cfg', None)
    if 'backbone' in model_cfg:
        model_cfg.backbone = dict(model_cfg.backbone)
        model_cfg.backbone.pop('init_cfg', None)
    if model_cfg.get('data_preprocessor') is None:
        model_cfg.data_preprocessor = cfg.get('data_preprocessor', None)
    return MODELS.build(model_cfg)


def format_table(counts, paper=None) -> str:
    rows = ['| part | GFLOPs | params (M) |' + (' paper GFLOPs |' if paper else ''),
            '|---|---|---|' + ('---|' if paper else '')]
    for part, (flops, params) in counts.items():
        row = f'| {part} | {flops / 1e9:.3f} | {params / 1e6:.2f} |'
        if paper:
            row += f" {paper['gflops']:.2f} |" if part == 'total' else ' |'
        rows.append(row)
    return '\n'.join(rows)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    paper = cfg.get('paper_reference', None)
    if args.shape is None:
        side = (paper or {}).get('shape', 448)
        shape = (side, side)
    else:
        shape = tuple(args.shape) * (2 if len(args.shape) == 1 else 1)
    if len(shape) != 2:
        raise SystemExit(f'--shape takes one or two values, got {args.shape}')
    counts = model_complexity(build_inference_model(cfg), shape)
    if args.compare_paper and not paper:
        raise SystemExit(f'{args.config} has no paper_reference to compare with')
    print(f'{os.path.basename(args.config)} at {shape[0]}x{shape[1]} '
          "(MMEngine's analyzer, multiply-adds)")
    print(format_table(counts, paper if args.compare_paper else None))
    return counts


if __name__ == '__main__':
    main()
