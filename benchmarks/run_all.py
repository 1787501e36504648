"""Run every benchmark and collect their tables in one markdown report.

Usage::

    python benchmarks/run_all.py [--out benchmarks/results.md] [--full] [--amp]

Each benchmark runs in its own process (so one failure does not stop the
others) with sizes that fit the current device: small on a CPU, the issues'
full sizes with ``--full`` or on a GPU. The report lists each benchmark's
output (its ratios and figures) and the command that produced it.
"""
import argparse
import os
import platform
import subprocess
import sys
import time
from typing import List, Tuple

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


#: SAM on a CPU: one thread, 12 rounds of 2 steps (single steps scatter by a few percent)
SAM_CPU = ['--rounds', '12', '--steps', '2', '--threads', '1']


def plan(full: bool, gpu: bool, amp: bool) -> List[Tuple[str, List[str]]]:
    """(title, arguments) of each benchmark for this device."""
    device = ['--device', 'cuda'] if gpu else []
    big = full or gpu
    return [
        ('ML-Decoder head: batched vs per-group loop',
         ['ml_decoder_head.py', *device] + ([] if big else ['--quick'])),
        ('GAT re-weighting overhead at inference',
         ['gat_overhead.py', *device] + ([] if big else ['--iters', '20', '--no-flops'])),
        ('Peer heads (Q2L, ML-GCN, ML-Decoder) vs linear',
         ['peer_heads.py', *device] + ([] if big else ['--repeats', '3'])),
        ('SAM overhead per training step (ResNet-18, batch 16, 128 px)',
         ['sam_overhead.py', *device, '--backbone', 'resnet18']
         + ([] if big else SAM_CPU)),
        ('SAM overhead per training step (demo model, EfficientNet-Lite0)',
         ['sam_overhead.py', *device] + ([] if big else SAM_CPU)),
        ('Training pipeline overhead (tools/train.py iteration vs bare step), demo models',
         ['pipeline_overhead.py'] + ([] if big else ['--threads', '1'])),
        ('COCO-2017-sized annotation loading', ['dataset_loading.py']),
        ('Metric suite and threshold tuning vs MMPretrain',
         ['metrics.py'] + ([] if big else ['--rounds', '3', '--train', '0'])),
        ('Exported models (ONNX Runtime, OpenVINO) vs eager on the CPU',
         ['export_latency.py'] + (['--full'] if full else [])
         + ([] if big else ['--repeats', '5'])),
        ('End to end: main configs, 448 px',
         ['end_to_end.py'] + (['--amp'] if amp else [])),
    ]


def run_one(args: List[str]) -> Tuple[int, str, float]:
    start = time.perf_counter()
    # this checkout's package first, whatever copy is installed
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get('PYTHONPATH')]))
    proc = subprocess.run([sys.executable, os.path.join(HERE, args[0]), *args[1:]],
                          cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=path))
    output = proc.stdout.strip()
    if proc.returncode:
        output += '\n' + proc.stderr.strip()[-2000:]
    return proc.returncode, output, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=os.path.join(HERE, 'results.md'))
    parser.add_argument('--full', action='store_true', help='full sizes on a CPU too')
    parser.add_argument('--amp', action='store_true', help='mixed precision end to end')
    parser.add_argument('--only', nargs='*', help='run only these scripts (file names)')
    args = parser.parse_args(argv)
    gpu = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if gpu else f'CPU ({os.cpu_count()} cores)'
    sections = [f'# Benchmark suite\n\nDevice: {device}; torch {torch.__version__}; '
                f'{platform.python_implementation()} {platform.python_version()}.\n']
    summary = ['| benchmark | status | seconds |', '|---|---|---|']
    failures = 0
    for title, bench in plan(args.full, gpu, args.amp):
        if args.only and bench[0] not in args.only:
            continue
        print(f'== {title}: python benchmarks/{" ".join(bench)}', flush=True)
        code, output, seconds = run_one(bench)
        print(output, flush=True)
        failures += code != 0
        summary.append(f'| {title} | {"ok" if code == 0 else f"FAILED ({code})"} | {seconds:.0f} |')
        sections.append(f'## {title}\n\n`python benchmarks/{" ".join(bench)}`\n\n'
                        f'```\n{output}\n```\n')
    report = '\n'.join(sections[:1] + summary + [''] + sections[1:])
    with open(args.out, 'w') as f:
        f.write(report)
    print(f'\nwrote {args.out}')
    return failures


if __name__ == '__main__':
    sys.exit(main())
