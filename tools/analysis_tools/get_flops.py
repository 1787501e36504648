"""GFLOPs and parameters of a config's model, whole and per part.

Usage::

    python tools/analysis_tools/get_flops.py CONFIG [CONFIG ...] [--shape 448] [--compare-paper]

One config prints a table of its parts; several print one summary row each.

Counts are MMEngine's analyzer (multiply-adds, as fvcore). With
``--compare-paper`` the config's ``paper_reference['gflops']`` (the paper's
column) is printed beside them; the paper's counter is not standard (see
docs/flops.md).
"""
import argparse
import os

from mmengine.config import Config

import mmpretrain_multilabel  # noqa: F401  registers the components
from mmpretrain_multilabel.apis import build_inference_model, model_complexity


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Count GFLOPs and parameters')
    parser.add_argument('configs', nargs='+', metavar='CONFIG', help='config file(s)')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=None,
        help='input size: one value (square) or H W; default: the config\'s '
        'paper_reference["shape"], else 448')
    parser.add_argument(
        '--compare-paper', action='store_true',
        help="print the paper's GFLOPs column beside the count")
    parser.add_argument(
        '--random-graph', action='store_true',
        help='give graph necks/heads a random label graph with the right K instead of '
        'building it from the training set (FLOPs do not depend on its values)')
    return parser.parse_args(argv)


def format_table(counts, paper=None) -> str:
    rows = ['| part | GFLOPs | params (M) |' + (' paper GFLOPs |' if paper else ''),
            '|---|---|---|' + ('---|' if paper else '')]
    for part, (flops, params) in counts.items():
        row = f'| {part} | {flops / 1e9:.3f} | {params / 1e6:.2f} |'
        if paper:
            row += f" {paper['gflops']:.2f} |" if part == 'total' else ' |'
        rows.append(row)
    return '\n'.join(rows)


def count_config(config: str, shape_arg=None, random_graph: bool = False):
    """(shape, counts, paper_reference) of one config."""
    cfg = Config.fromfile(config)
    paper = cfg.get('paper_reference', None)
    if shape_arg is None:
        side = (paper or {}).get('shape', 448)
        shape = (side, side)
    else:
        shape = tuple(shape_arg) * (2 if len(shape_arg) == 1 else 1)
    if len(shape) != 2:
        raise SystemExit(f'--shape takes one or two values, got {shape_arg}')
    return shape, model_complexity(build_inference_model(cfg, random_graph), shape), paper


def summary_row(config: str, shape, counts, paper) -> str:
    parts = ' | '.join(f'{counts[p][0] / 1e9:.3f}' if p in counts else '-'
                       for p in ('backbone', 'neck', 'head', 'total'))
    row = (f'| {os.path.basename(config)} | {shape[0]} | {parts} | '
           f"{counts['total'][1] / 1e6:.1f} |")
    if paper:
        row += f" {paper['gflops']:.2f} | {paper['gflops'] * 1e9 / counts['total'][0]:.3f} |"
    else:
        row += ' - | - |'
    return row


def main(argv=None):
    args = parse_args(argv)
    results = []
    for config in args.configs:
        shape, counts, paper = count_config(config, args.shape, args.random_graph)
        if args.compare_paper and not paper:
            raise SystemExit(f'{config} has no paper_reference to compare with')
        results.append((config, shape, counts, paper))
    if len(results) == 1:
        config, shape, counts, paper = results[0]
        print(f'{os.path.basename(config)} at {shape[0]}x{shape[1]} '
              "(MMEngine's analyzer, multiply-adds)")
        print(format_table(counts, paper if args.compare_paper else None))
        return counts
    print("GFLOPs (MMEngine's analyzer, multiply-adds) beside the paper's column")
    print('| config | px | backbone | neck | head | total | params (M) | paper | paper / ours |')
    print('|---|---|---|---|---|---|---|---|---|')
    for result in results:
        print(summary_row(*result))
    return [r[2] for r in results]


if __name__ == '__main__':
    main()
