"""Sweep the AAM scale s or margin m of a config: the paper's Figures 3-4.

Trains the config once per value (``--cfg-options model.head.loss.loss.<s|m>=V``) and
writes ``sweep_<param>.md`` / ``.csv`` / ``.png`` (best validation mAP, raw or EMA)
under ``--work-dir``. The paper's sweeps (EfficientNetV2-s + ML-Decoder + AAM, 224 px):

    python tools/analysis_tools/aam_sweep.py \
        configs/ablation/effv2s_mld-aam_2xb42_coco-224px.py --param s \
        --values 5 10 15 20 23 25 30 35 --gpus 2 --work-dir work_dirs/fig3_coco
    python tools/analysis_tools/aam_sweep.py \
        configs/ablation/effv2s_mld-aam_2xb42_voc07-224px.py --param m \
        --values 0 0.05 0.1 0.2 0.3 --gpus 2 --work-dir work_dirs/fig4_voc
"""
import argparse
import os.path as osp

from mmpretrain_multilabel.utils.sweep import METRIC, PARAM_KEYS, run_sweep

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--param', choices=sorted(PARAM_KEYS), required=True)
    parser.add_argument('--values', type=float, nargs='+', required=True)
    parser.add_argument('--work-dir', required=True, help='one sub-folder per value')
    parser.add_argument('--key', help=f'config key to set (default: {PARAM_KEYS})')
    parser.add_argument('--gpus', type=int, default=1, help='> 1: tools/dist_train.sh')
    parser.add_argument('--metric', default=METRIC)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='more overrides for every run (key=value)')
    args = parser.parse_args(argv)
    rows = run_sweep(args.config, args.param, args.values, args.work_dir, key=args.key,
                     gpus=args.gpus, cfg_options=args.cfg_options, metric=args.metric,
                     root=ROOT)
    for row in rows:
        print(f"{args.param} = {row['value']:g}: {args.metric} {row['score']:.2f}")
    print(f'table and plot: {osp.join(args.work_dir, "sweep_" + args.param)}.{{md,csv,png}}')
    return rows


if __name__ == '__main__':
    main()
