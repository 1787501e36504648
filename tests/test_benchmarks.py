"""The benchmark suite runs: the end-to-end benchmark on a real paper config
(tiny input), the export latency benchmark (quick) and run_all's report
assembly."""
import os.path as osp

import pytest
import torch

from mmpretrain_multilabel.utils.stats import quartiles

from .scripts import load_script

pytestmark = pytest.mark.slow  # benchmarks run their scripts

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_end_to_end_benchmark_on_a_paper_config():
    run_all = load_script('benchmarks/run_all.py')
    code, output, _ = run_all.run_one([
        'end_to_end.py', '--size', '64', '--batch', '2', '--iters', '1', '--configs',
        'configs/effv2s/effv2s_linear-asl_2xb42_coco-448px.py'
    ])
    assert code == 0, output
    header, row = [line for line in output.splitlines() if line.startswith('| ')]
    assert 'pipeline / bare' in header and 'recipe / plain' in header
    values = [float(v) for v in row.strip('|').split('|')[1:]]
    assert len(values) == len(header.strip('|').split('|')) - 1
    assert all(v > 0 for v in values)


def test_export_latency_benchmark_quick():
    run_all = load_script('benchmarks/run_all.py')
    code, output, _ = run_all.run_one(['export_latency.py', '--size', '64', '--batch-sizes', '2',
                                       '--repeats', '1', '--threads', '1'])
    assert code == 0, output
    header, _, row = [line for line in output.splitlines() if line.startswith('|')]
    assert 'eager / ORT' in header and 'eager / OV' in header
    cells = [c.strip() for c in row.strip('|').split('|')]
    assert cells[1:3] == ['64', '2']
    assert all(float(c.rstrip('x')) > 0 for c in cells[6:8])  # the ratios
    assert all(float(d) < 1e-3 for d in cells[8].split(','))  # scores agree


def test_run_all_writes_one_report(tmp_path, monkeypatch):
    run_all = load_script('benchmarks/run_all.py')
    monkeypatch.setattr(run_all, 'plan', lambda full, gpu, amp: [
        ('works', ['end_to_end.py', '--help']),
        ('fails', ['end_to_end.py', '--no-such-flag']),
    ])
    out = tmp_path / 'report.md'
    failures = run_all.main(['--out', str(out)])
    report = out.read_text()
    assert failures == 1
    assert '| works | ok |' in report and '| fails | FAILED (2) |' in report
    assert 'python benchmarks/end_to_end.py --help' in report


def test_demo_comparison_trains_each_config_under_one_budget(tmp_path, capsys):
    demo_comparison = load_script('benchmarks/demo_comparison.py')
    from mmengine.config import Config
    configs = [osp.join(ROOT, 'tests', 'data', name)
               for name in ('tiny_demo.py', 'tiny_recipe_demo.py')]
    data = [f'{loader}.dataset.data_root={tmp_path / "data"}'
            for loader in ('train_dataloader', 'val_dataloader')]
    runs = demo_comparison.main([*configs, '--epochs', '2', '--seeds', '3', '--parallel', '2',
                                 '--work-dir', str(tmp_path / 'runs'), '--cfg-options', *data])
    assert sorted((osp.basename(r['config']), r['epochs']) for r in runs) == [
        ('tiny_demo.py', 2), ('tiny_recipe_demo.py', 2)]
    assert all(0 < r['mAP'] <= 100 for r in runs)
    dumped = Config.fromfile(str(tmp_path / 'runs' / 'tiny_recipe_demo_seed3' /
                                 'budget_config.py'))
    assert dumped.train_cfg.max_epochs == 2 and dumped.randomness.seed == 3
    assert dumped.param_scheduler.total_steps == 2  # OneCycle follows the budget
    table = capsys.readouterr().out
    assert '| tiny_demo | 2 |' in table and '| tiny_recipe_demo | 2 |' in table


def test_gpu_check_dry_run_on_the_cpu(tmp_path):
    """benchmarks/gpu_check.sh --dry-run: every row at tiny sizes, a table out."""
    import os
    import subprocess
    # the GPU run's 460 s limit is for a GPU; a shared 2-core CPU needs longer
    env = dict(os.environ, OUT=str(tmp_path), GPU_CHECK_TIMEOUT='1800')
    proc = subprocess.run(['bash', osp.join(ROOT, 'benchmarks', 'gpu_check.sh'), '--dry-run'],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = (tmp_path / 'gpu_results.md').read_text()
    rows = [line for line in table.splitlines()
            if line.startswith('| ') and not line.startswith('| check |')]
    checks = {row.split('|')[1].strip() for row in rows}
    assert checks == {'train, in-memory batch', 'data pipeline (RandAugment)',
                      'train, from the data pipeline', 'inference'}
    figures = {row.split('|')[3].strip(): row.split('|')[4].strip() for row in rows}
    for key in ('img/s', 'img/s ratio', 'checkpoint img/s', 'ONNX img/s',
                'workers to feed training', 'img/s per worker'):
        assert float(figures[key]) > 0, key
    assert 'SAMOptimWrapper' in table  # the paper model trains with SAM


def test_pipeline_overhead_times_every_requested_pair_over_two_epochs():
    """The stock demo's schedule (a warm-up epoch, then cosine decay) builds in the
    benchmark's two in-memory epochs, and the warm-up is dropped once, not per epoch."""
    pipeline = load_script('benchmarks/pipeline_overhead.py')
    row = pipeline.measure('configs/demo/lite0_linear-asl_1xb32_demo-128px.py',
                           iters=4, warmup=2, batch_size=4, size=64)
    assert row['n'] == 4
    assert 0 < row['lo'] <= row['ci_lo'] <= row['ratio'] <= row['ci_hi'] <= row['hi']
    assert row['of_medians'] > 0


def test_median_ci_narrows_with_more_pairs():
    pipeline = load_script('benchmarks/pipeline_overhead.py')
    g = torch.Generator().manual_seed(1)
    noisy = (1.02 + 0.05 * torch.randn(400, generator=g)).tolist()
    few, many = pipeline.median_ci(noisy[:20]), pipeline.median_ci(noisy)
    assert few[0] < 1.02 < few[1] and many[0] < 1.02 < many[1]
    assert many[1] - many[0] < (few[1] - few[0]) / 2


def test_sam_overhead_prints_the_ratio_with_its_spread(capsys):
    sam = load_script('benchmarks/sam_overhead.py')
    ratio = sam.main(['--backbone', 'resnet18', '--batch-size', '2', '--img-size', '32',
                      '--rounds', '3'])  # no --threads: it would change this process's
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f'SAM / base (cpu time): {ratio:.3f}, IQR ') and ratio > 1


def test_quartiles_of_the_benchmarks():
    assert quartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (1.5, 3.0, 4.5)
    assert quartiles([2.0]) == (2.0, 2.0, 2.0)
