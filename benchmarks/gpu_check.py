"""GPU check: training and inference throughput of the paper's main model
against the stock MMPretrain EfficientNetV2-s linear-head setup.

Rows (a markdown table on stdout and in ``--out``):

- training, in-memory batches: images/s and peak memory of
  ``configs/effv2s_mld_aam_coco.py`` (ML-Decoder + AAM, SAM, AMP) and of the
  stock setup (``effv2s_linear-asl``: MMPretrain's ``MultiLabelLinearClsHead``,
  ASL, plain SGD in ``AmpOptimWrapper``), same batch;
- data pipeline: images/s of the config's training pipeline (squash resize,
  flip, RandAugment, Cutout) from JPEG files on disk, per worker count, and the
  workers needed to feed the measured training speed;
- training from that loader (the feeding worker count);
- inference: eval forward images/s of the checkpoint (saved and loaded back)
  and of its ONNX export in ONNX Runtime (CUDA provider when installed).

``--dry-run`` runs every row on the CPU at tiny sizes (no AMP): the test of
the script. Usage::

    PYTHONPATH=. python benchmarks/gpu_check.py [--dry-run] [--out FILE]
"""
import argparse
import math
import os
import tempfile
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint, save_checkpoint
from mmpretrain.structures import DataSample

from mmpretrain_multilabel.apis.complexity import build_inference_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER = 'configs/effv2s_mld_aam_coco.py'
STOCK = 'configs/effv2s/effv2s_linear-asl_2xb42_coco-448px.py'
STOCK_WRAPPER = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=1e-3, momentum=0.9,
                                                         weight_decay=5e-4))


class Settings(argparse.Namespace):
    size: int
    batch: int
    iters: int
    warmup: int
    images: int
    workers: List[int]
    amp: bool
    device: str


def settings(dry_run: bool) -> Settings:
    """Full sizes on a GPU; tiny ones for the CPU dry run."""
    if dry_run:
        return Settings(size=64, batch=2, iters=2, warmup=1, images=8, workers=[0, 1],
                        amp=False, device='cpu')
    cpus = os.cpu_count() or 8
    workers = sorted({w for w in (2, 4, 8, 12, 16, 24, 32) if w <= cpus} | {cpus})
    return Settings(size=448, batch=42, iters=20, warmup=5, images=256, workers=workers,
                    amp=True, device='cuda')


def sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn: Callable[[], None], iters: int, warmup: int, device: str) -> float:
    """Seconds per call, after ``warmup`` calls (mean over ``iters``)."""
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    sync(device)
    return (time.perf_counter() - start) / iters


def peak_memory_gib(device: str) -> float:
    return torch.cuda.max_memory_allocated() / 2**30 if device.startswith('cuda') else math.nan


def load_cfg(config: str) -> Config:
    init_default_scope('mmpretrain')
    return Config.fromfile(os.path.join(ROOT, config))


def wrapper_cfg(cfg: Config, stock: bool, amp: bool) -> Dict:
    """The config's optimizer wrapper (SAM for the paper model) or the stock
    plain one; its AMP variant with ``amp`` (as ``tools/train.py --amp``)."""
    wrapper = dict(STOCK_WRAPPER if stock else cfg.optim_wrapper)
    if amp:
        wrapper['type'] = 'AmpSAMOptimWrapper' if 'SAM' in wrapper['type'] \
            else 'AmpOptimWrapper'
    return wrapper


def synthetic_batch(num_classes: int, batch: int, size: int) -> Dict:
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8)
              for _ in range(batch)]
    samples = [DataSample().set_gt_label(torch.randperm(num_classes, generator=g)[:3])
               for _ in range(batch)]
    return dict(inputs=inputs, data_samples=samples)


def build_trainable(config: str, stock: bool, s: Settings):
    cfg = load_cfg(config)
    model = build_inference_model(cfg, random_graph=True).to(s.device).train()
    wrapper = build_optim_wrapper(model, wrapper_cfg(cfg, stock, s.amp))
    return cfg, model, wrapper


def train_in_memory(config: str, stock: bool, s: Settings) -> Dict:
    """Images/s and peak memory of ``train_step`` on one repeated batch."""
    cfg, model, wrapper = build_trainable(config, stock, s)
    batch = synthetic_batch(model.head.num_classes, s.batch, s.size)
    if s.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    seconds = timed(lambda: model.train_step(batch, wrapper), s.iters, s.warmup, s.device)
    return {'img/s': s.batch / seconds, 'peak GiB': peak_memory_gib(s.device),
            'optim wrapper': type(wrapper).__name__}


def write_images(folder: str, count: int, size: int) -> List[str]:
    """JPEG files of COCO-like size (a bit larger than the input)."""
    import cv2
    rng = np.random.default_rng(0)
    side = max(32, int(size * 1.4))
    paths = []
    for i in range(count):
        img = rng.integers(0, 256, (side, int(side * 1.3), 3), dtype=np.uint8)
        img = cv2.GaussianBlur(img, (5, 5), 0)  # compressible, like a photo
        path = os.path.join(folder, f'{i:05d}.jpg')
        cv2.imwrite(path, img)
        paths.append(path)
    return paths


class PipelineDataset(torch.utils.data.Dataset):
    """The config's training pipeline over image files (3 random labels)."""

    def __init__(self, paths: List[str], pipeline: list, num_classes: int) -> None:
        self.paths = paths
        self.pipeline = Compose(pipeline)
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> Dict:
        labels = np.random.default_rng(i).choice(self.num_classes, 3, replace=False)
        return self.pipeline(dict(img_path=self.paths[i], gt_label=labels.tolist()))


def train_pipeline(cfg: Config, size: int) -> list:
    """The config's training pipeline, resized to ``size`` (dry run)."""
    pipeline = [dict(step) for step in cfg.train_dataloader.dataset.pipeline]
    for step in pipeline:
        if step['type'] == 'Resize':
            step['scale'] = (size, size)
    return pipeline


def loader_for(dataset, batch: int, workers: int):
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch, num_workers=workers, collate_fn=pseudo_collate,
        shuffle=False, drop_last=True, persistent_workers=workers > 0,
        prefetch_factor=4 if workers else None)


def loader_speed(dataset, batch: int, workers: int) -> float:
    """Images/s of iterating the loader once (after its first batch)."""
    loader = loader_for(dataset, batch, workers)
    it = iter(loader)
    next(it)
    start, count = time.perf_counter(), 0
    for data in it:
        count += len(data['inputs'])
    took = time.perf_counter() - start
    del it, loader
    return count / took if count else math.nan


def train_from_loader(config: str, dataset, workers: int, s: Settings) -> Dict:
    cfg, model, wrapper = build_trainable(config, False, s)
    loader = loader_for(dataset, s.batch, workers)
    for i, data in enumerate(loader):  # warm-up on the first batches
        model.train_step(data, wrapper)
        if i + 1 >= s.warmup:
            break
    sync(s.device)
    start, count = time.perf_counter(), 0
    for data in loader:
        model.train_step(data, wrapper)
        count += len(data['inputs'])
    sync(s.device)
    return {'img/s': count / (time.perf_counter() - start), 'workers': workers}


def inference(config: str, folder: str, s: Settings) -> Dict:
    """Eval images/s of the checkpoint (saved, loaded into a fresh model)
    and of its ONNX export."""
    from mmpretrain_multilabel.deployment.export import export_onnx
    from mmpretrain_multilabel.deployment.metadata import encode_metadata, preprocessing_metadata
    from mmpretrain_multilabel.deployment.runtime import load_exported
    cfg = load_cfg(config)
    model = build_inference_model(cfg, random_graph=True)
    ckpt = os.path.join(folder, 'model.pth')
    save_checkpoint(dict(state_dict=model.state_dict()), ckpt)
    model = build_inference_model(cfg, random_graph=True)
    load_checkpoint(model, ckpt, map_location='cpu')
    model = model.to(s.device).eval()
    inputs = torch.randn(s.batch, 3, s.size, s.size, device=s.device)

    def eager():
        with torch.no_grad(), torch.autocast(s.device.split(':')[0], enabled=s.amp):
            model(inputs, mode='tensor')

    row = {'checkpoint img/s': s.batch / timed(eager, s.iters, s.warmup, s.device)}
    num_classes = cfg.model.head.num_classes
    metadata = encode_metadata([f'class_{i}' for i in range(num_classes)], 0.5,
                               (s.size, s.size), preprocessing_metadata(cfg))
    onnx_path = export_onnx(model.cpu().float(), os.path.join(folder, 'model.onnx'),
                            (s.size, s.size), metadata)
    exported = load_exported(onnx_path, device=s.device)
    array = inputs.cpu().numpy()
    row['ONNX img/s'] = s.batch / timed(lambda: exported._run(array), s.iters, s.warmup, 'cpu')
    row['ONNX providers'] = ','.join(exported.session.get_providers())
    return row


def table(rows: List[Dict]) -> str:
    lines = ['| check | config | figure | value |', '|---|---|---|---|']
    for r in rows:
        value = r['value']
        text = f'{value:.3g}' if isinstance(value, float) else str(value)
        lines.append(f'| {r["check"]} | {r["config"]} | {r["figure"]} | {text} |')
    return '\n'.join(lines)


def run(s: Settings, out: Optional[str] = None) -> str:
    rows: List[Dict] = []

    def add(check, config, values):
        for figure, value in values.items():
            rows.append(dict(check=check, config=os.path.basename(config), figure=figure,
                             value=value))
        print(table(rows[-len(values):]).split('\n', 2)[2], flush=True)

    paper = train_in_memory(PAPER, False, s)
    stock = train_in_memory(STOCK, True, s)
    add('train, in-memory batch', PAPER, paper)
    add('train, in-memory batch', STOCK, stock)
    add('train, in-memory batch', 'paper / stock', {
        'img/s ratio': paper['img/s'] / stock['img/s'],
        'peak memory ratio': paper['peak GiB'] / stock['peak GiB']})
    cfg = load_cfg(PAPER)
    with tempfile.TemporaryDirectory() as folder:
        paths = write_images(folder, s.images, s.size)
        dataset = PipelineDataset(paths, train_pipeline(cfg, s.size), cfg.model.head.num_classes)
        speeds = {w: loader_speed(dataset, s.batch, w) for w in s.workers}
        add('data pipeline (RandAugment)', PAPER,
            {f'img/s, {w} workers': v for w, v in speeds.items()})
        per_worker = max(v / max(w, 1) for w, v in speeds.items())
        needed = math.ceil(paper['img/s'] / per_worker)
        add('data pipeline (RandAugment)', PAPER, {
            'img/s per worker': per_worker, 'workers to feed training': needed})
        feeding = min([w for w in s.workers if speeds[w] >= paper['img/s']] or [max(s.workers)])
        add('train, from the data pipeline', PAPER, train_from_loader(PAPER, dataset, feeding, s))
        add('inference', PAPER, inference(PAPER, folder, s))
    header = (f'GPU check on {torch.cuda.get_device_name(0) if s.device == "cuda" else "CPU"}, '
              f'torch {torch.__version__}, {s.size} px, batch {s.batch}, '
              f'{"AMP" if s.amp else "fp32"}, {s.iters} timed iterations:\n')
    report = header + '\n' + table(rows)
    if out:
        with open(out, 'w') as f:
            f.write(report + '\n')
    return report


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--dry-run', action='store_true', help='tiny sizes on the CPU')
    parser.add_argument('--out', default=None, help='markdown file to write')
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        parser.error('no CUDA device; use --dry-run on a CPU')
    report = run(settings(args.dry_run), args.out)
    print('\n' + report)
    return report


if __name__ == '__main__':
    main()
