"""Time and peak memory of loading OpenImages V6 labels, against pandas, in one run.

A synthetic fixture in the official layout (``write_openimages_fixture``: 601 boxable
classes, ``ImageID,Source,LabelName,Confidence`` rows grouped by image, about 5.2
verified labels per image) of ``--rows`` label rows in the train and test parts (the
paper's training set joins them) is written to a temporary folder, then each loader
runs in a fresh process (so that its peak RSS is its own), ``--repeat`` times:

- ``OpenImagesMultiLabel``: the whole dataset build (class files, both label files,
  validation, joining, compact per-image arrays);
- ``read_image_labels``: the vectorised CSV parser alone, on the same two files;
- ``pandas.read_csv``: pandas reading the same two CSVs (the baseline; nothing else);
- ``pandas loader``: pandas reading them and producing what the dataset holds (class
  ids of the MIDs, images factorised, rows grouped per image);
- ``pyarrow.csv``: pyarrow's multithreaded reader, when installed (for reference).

Printed: the best CPU time (process time: the fair measure on a machine shared with
other jobs; pyarrow's counts all its threads) and its ratio to ``pandas.read_csv`` (> 1:
faster than pandas), the wall time of that run, peak RSS of the process and its growth
over the RSS after imports.

Usage::

    python benchmarks/openimages_loading.py [--rows 1800000] [--repeat 3] [--fixture DIR]
"""
import argparse
import json
import os.path as osp
import resource
import shutil
import subprocess
import sys
import tempfile
import time

LABEL_FILES = ('train-annotations-human-imagelabels-boxable.csv',
               'test-annotations-human-imagelabels-boxable.csv')
METHODS = ('OpenImagesMultiLabel', 'read_image_labels', 'pandas.read_csv', 'pandas loader',
           'pyarrow.csv')


def rss_mb(field: str = 'VmHWM') -> float:
    """Peak (``VmHWM``) or current (``VmRSS``) RSS of this process image, in MB.

    Not ``getrusage``: Linux keeps ``ru_maxrss`` across ``exec``, so a worker would
    report its parent's peak.
    """
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def run_method(method: str, root: str) -> dict:
    """Load once in this process; return seconds and RSS figures."""
    files = [osp.join(root, f) for f in LABEL_FILES]
    if method in ('pandas.read_csv', 'pandas loader'):
        import numpy as np
        import pandas as pd
    elif method == 'pyarrow.csv':
        import pyarrow.csv as pacsv
    else:
        from mmpretrain_multilabel.datasets import OpenImagesMultiLabel
        from mmpretrain_multilabel.datasets.openimages_csv import (
            class_vocabulary,
            read_class_descriptions,
            read_image_labels,
        )
    base = rss_mb('VmRSS')
    start, cpu_start = time.perf_counter(), time.process_time()
    if method == 'OpenImagesMultiLabel':
        ds = OpenImagesMultiLabel(root, split='train')
        count = int(ds._offsets[-1])
    elif method == 'read_image_labels':
        desc = read_class_descriptions(osp.join(root, 'class-descriptions-boxable.csv'))
        vocab, vocab_class = class_vocabulary(desc.mids, desc.mids)
        count = sum(len(read_image_labels(f, vocab, vocab_class).row_class) for f in files)
    elif method == 'pandas.read_csv':
        count = sum(len(pd.read_csv(f)) for f in files)
    elif method == 'pandas loader':
        classes = pd.read_csv(osp.join(root, 'class-descriptions-boxable.csv'), header=None,
                              names=['LabelName', 'DisplayName'])
        index = pd.Series(np.arange(len(classes)), index=classes['LabelName'])
        df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        class_id = df['LabelName'].map(index).to_numpy()
        image, _ = pd.factorize(df['ImageID'], sort=True)
        order = np.argsort(image, kind='stable')
        labels, values = class_id[order], df['Confidence'].to_numpy()[order]
        count = len(labels) + 0 * len(values)
    else:
        count = sum(pacsv.read_csv(f).num_rows for f in files)
    return dict(seconds=time.perf_counter() - start, cpu=time.process_time() - cpu_start,
                rows=count, peak_mb=rss_mb(), base_mb=base)


def measure(method: str, root: str, repeat: int) -> dict:
    runs = []
    for _ in range(repeat):
        proc = subprocess.run([sys.executable, __file__, '--worker', method, '--root', root],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            if 'No module named' in proc.stderr:
                return None
            raise RuntimeError(f'{method} failed:\n{proc.stderr[-3000:]}')
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r['cpu'])
    return dict(best, peak_mb=max(r['peak_mb'] for r in runs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=1_800_000,
                        help='label rows in train + test (default 1.8M)')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--fixture', help='keep the fixture in this folder (reused when '
                        'it holds one)')
    parser.add_argument('--worker', choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument('--root', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_method(args.worker, args.root)))
        return None

    from mmpretrain_multilabel.datasets.openimages_synthetic import write_openimages_fixture
    root = args.fixture or tempfile.mkdtemp(prefix='oi_bench_')
    images = int(args.rows / 5.23)
    if not all(osp.isfile(osp.join(root, f)) for f in LABEL_FILES):
        start = time.perf_counter()
        write_openimages_fixture(root, num_classes=601, num_images=dict(
            train=images * 14 // 15, test=images - images * 14 // 15, validation=100))
        print(f'fixture: {images} images in {root} ({time.perf_counter() - start:.1f} s)')
    try:
        results = {m: measure(m, root, args.repeat) for m in METHODS}
    finally:
        if not args.fixture:
            shutil.rmtree(root, ignore_errors=True)
    ref = results['pandas.read_csv']['cpu']
    print(f"\n{results['pandas.read_csv']['rows']} label rows (train + test), best of "
          f'{args.repeat} runs, each in a fresh process\n')
    print('| loader | rows | CPU s | pandas.read_csv / this (CPU) | wall s | peak RSS (MB) | '
          'RSS growth (MB) |')
    print('|---|---|---|---|---|---|---|')
    for method, r in results.items():
        if r is None:
            print(f'| {method} | not installed | | | | | |')
            continue
        print(f"| {method} | {r['rows']} | {r['cpu']:.2f} | {ref / r['cpu']:.2f}x | "
              f"{r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['peak_mb'] - r['base_mb']:.0f} |")
    return results


if __name__ == '__main__':
    main()
