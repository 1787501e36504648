"""The HTML evaluation report (``tools/test.py --report``): ranking, content,
self-containment, rendering in headless Chromium; and the TensorBoard switch
(``tools/train.py --tensorboard``, ``configs/_base_/default_runtime_tensorboard.py``)."""
import json
import math
import os
import os.path as osp
import re
import shutil
import subprocess
from unittest import mock

import mmengine
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.apis import enable_tensorboard, merge_test_args
from mmpretrain_multilabel.datasets import DEMO_CLASSES
from mmpretrain_multilabel.evaluation.metrics import MultiLabelSuite, gt_score_of
from mmpretrain_multilabel.evaluation.report import (
    REPORT_FILE,
    SECTIONS,
    metric_table,
    per_image_errors,
    worst_first,
)

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'lite0_linear-asl_1xb32_demo-128px.py')
STOCK_RUNTIME = "'mmpretrain::_base_/default_runtime.py'"
TENSORBOARD_RUNTIME = repr(osp.join(ROOT, 'configs', '_base_', 'default_runtime_tensorboard.py'))
REPORT_IMAGES = 8  # of the 13 tiny validation images: the cap is exercised
CHROMIUM = next(filter(None, map(shutil.which, ('chromium', 'chromium-browser',
                                                 'google-chrome'))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason='no chromium binary on PATH (CI installs it: apt-get install '
    'chromium); the report is not rendered')


def _data_options(data_root):
    return [f'{loader}.dataset.data_root={data_root}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


# ------------------------------------------------------------ pure functions


def test_per_image_f1_and_worst_first_order():
    scores = np.array([[0.9, 0.2, 0.1],   # right: F1 1
                       [0.9, 0.8, 0.1],   # 1 TP, 1 FP: F1 2/3
                       [0.1, 0.2, 0.3],   # nothing true, nothing predicted: F1 1
                       [0.4, 0.2, 0.1],   # 1 missed: F1 0, error 0.6 + 0.2 + 0.1
                       [0.2, 0.1, 0.1],   # 1 missed: F1 0, error 0.8 + 0.1 + 0.1
                       [0.9, 0.7, 0.1]],  # the FP label is ignored: F1 1
                      np.float32)
    targets = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0],
                        [1, -1, 0]])
    pred, f1, errors = per_image_errors(scores, targets, thr=0.5)
    assert pred.sum() == 5
    assert f1 == pytest.approx([1, 2 / 3, 1, 0, 0, 1])
    assert errors == pytest.approx([0.4, 1.0, 0.6, 0.9, 1.0, 0.2])
    assert worst_first(f1, errors).tolist() == [4, 3, 1, 2, 0, 5]
    # per-class thresholds
    _, f1, _ = per_image_errors(scores, targets, thr=[0.5, 0.9, 0.5])
    assert f1[1] == 1.0


def test_metric_table_has_one_row_per_variant():
    metrics = {'mAP': 50.0, 'CP': 10.0, 'mean-F1': 20.0, 'CP-top3': 30.0,
               'mean-F1-top3': 40.0, 'CP-adapt': 60.0, 'AP_classwise': [1.0, 2.0]}
    columns, rows = metric_table(metrics, '0.5')
    assert columns == ['mAP', 'CP', 'mean-F1']
    assert rows == [('threshold 0.5', ['50.00', '10.00', '20.00']),
                    ('top-3', ['-', '30.00', '40.00']),
                    ('tuned thresholds', ['-', '60.00', '-'])]


def test_report_is_written_by_the_main_process_only(tmp_path):
    """BaseMetric computes metrics on rank 0 only; the report comes from
    there, so other ranks of a distributed test write nothing."""
    metric = MultiLabelSuite(report_dir=str(tmp_path / 'report'))
    metric.dataset_meta = dict(classes=['a', 'b'])
    metric.process(None, [dict(pred_score=torch.tensor([0.9, 0.1]),
                               gt_label=torch.tensor([0]), img_path=None)] * 2)
    with mock.patch('mmengine.evaluator.metric.is_main_process', return_value=False):
        assert metric.evaluate(2) is None
    assert not (tmp_path / 'report').exists()


# ------------------------------------------------------------------ the tool


@pytest.fixture(scope='module')
def report(tmp_path_factory):
    """tools/test.py --report on an untrained tiny-demo checkpoint (13 demo
    validation images of 64 px), with the predictions dumped beside it."""
    test_tool = load_script('tools/test.py')
    from mmengine.runner import save_checkpoint
    from mmpretrain.registry import MODELS
    root = tmp_path_factory.mktemp('report')
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    ckpt = root / 'tiny.pth'
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=list(DEMO_CLASSES)))), str(ckpt))
    metrics = test_tool.main([TINY_CONFIG, str(ckpt), '--work-dir', str(root / 'work'),
                              '--report', str(root / 'report'),
                              '--report-images', str(REPORT_IMAGES),
                              '--out', str(root / 'preds.pkl'),
                              '--cfg-options', *_data_options(root / 'data')])
    page = root / 'report' / REPORT_FILE
    return dict(root=root, page=page, html=page.read_text(encoding='utf-8'),
                metrics=metrics, preds=mmengine.load(str(root / 'preds.pkl')))


def test_report_has_every_section(report):
    page = report['html']
    for anchor, heading in SECTIONS.items():
        assert f'<h2 id="{anchor}">{heading}</h2>' in page
    for key in ('mAP', 'CP', 'CR', 'CF1', 'OP', 'OR', 'OF1', 'mean-F1'):
        assert f'<th>{key}</th>' in page
        assert f"<td>{report['metrics'][f'multi-label/{key}']:.2f}</td>" in page
    assert '<td>top-3</td>' in page
    # AP bars, PR curves, F1 curves, co-occurrence; one thumbnail per image shown
    assert page.count('<img class="plot" src="data:image/png;base64,') == 4
    assert page.count('<img src="data:image/jpeg;base64,') == REPORT_IMAGES
    assert page.count('predicted: ') == page.count('true: ') == REPORT_IMAGES
    assert 'worst of 13 images, by per-image F1' in page


def test_report_is_self_contained(report):
    page = report['html']
    text = re.sub(r'data:[^"\']*', 'data:', page)  # base64 has slashes
    assert not re.search(r'https?:|//[a-z]|<script|<link|<iframe|@import|url\(', text, re.I)
    for ref in re.findall(r'(?:src|href)\s*=\s*["\']([^"\']*)', page, re.I):
        assert ref.startswith(('data:', '#')), ref
    assert [p.name for p in report['page'].parent.iterdir()] == [REPORT_FILE]


def test_report_grid_shows_the_worst_images_first(report):
    """The grid equals the ranking recomputed from the dumped predictions."""
    preds = report['preds']
    scores = torch.stack([p['pred_score'] for p in preds])
    targets = torch.stack([gt_score_of(p, len(DEMO_CLASSES)) for p in preds])
    _, f1, errors = per_image_errors(scores, targets, thr=0.5)
    want = [osp.basename(preds[i]['img_path']) for i in worst_first(f1, errors)]
    page = report['html']
    shown = re.findall(r'<span class="path">([^<]+)</span> &middot; F1 ([0-9.]+)', page)
    assert [name for name, _ in shown] == want[:REPORT_IMAGES]
    shown_f1 = [float(v) for _, v in shown]
    assert shown_f1 == sorted(shown_f1)


# --------------------------------------------------------------- rendering

# Put into <head> of a copy of the page under test: records uncaught errors and
# failed resource loads (capture phase), then reports them and the images that
# did not decode in the title, which --dump-dom returns.
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push(e.message || ('failed to load ' + (e.target.src || e.target.tagName)));
}, true);
window.addEventListener('load', function () {
  var broken = Array.prototype.filter.call(document.images, function (img) {
    return !img.complete || img.naturalWidth === 0; }).length;
  document.title = 'PROBE ' + JSON.stringify({errors: window.__errors, broken: broken,
                                              images: document.images.length});
});
</script>"""


def _chromium(args, tmp_path):
    cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
           '--no-first-run', f'--user-data-dir={tmp_path / "chromium-profile"}',
           '--enable-logging=stderr', '--v=0', *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def render_check(page, tmp_path):
    """Render ``page`` headless: a 1280x4000 screenshot, console messages
    from the log, and the probe's errors / broken images from the DOM."""
    shot = tmp_path / 'screenshot.png'
    run = _chromium([f'--screenshot={shot}', '--window-size=1280,4000',
                     page.resolve().as_uri()], tmp_path)
    console = [line for line in run.stderr.splitlines()
               if ':CONSOLE' in line or 'Uncaught' in line]
    probed = tmp_path / 'probed.html'
    probed.write_text(page.read_text(encoding='utf-8').replace('<head>', '<head>' + PROBE, 1),
                      encoding='utf-8')
    dom = _chromium(['--dump-dom', '--virtual-time-budget=10000', probed.resolve().as_uri()],
                    tmp_path).stdout
    title = re.search(r'<title>PROBE (.*?)</title>', dom, re.S)
    assert title, f'the probe did not run; chromium output:\n{dom[:500]}'
    return shot, console, json.loads(title.group(1).replace('&quot;', '"'))


def assert_not_blank(png):
    assert png.exists() and png.stat().st_size > 0, 'no screenshot written'
    with Image.open(png) as img:
        assert img.size == (1280, 4000)
        pixels = np.asarray(img.convert('L'), dtype=np.float64)
    assert pixels.std() > 10, 'the screenshot is a blank page'
    return pixels


@pytest.mark.slow
@needs_chromium
def test_report_renders_without_errors(report, tmp_path):
    shot, console, probe = render_check(report['page'], tmp_path)
    pixels = assert_not_blank(shot)
    assert console == [], console
    assert probe == dict(errors=[], broken=0, images=4 + REPORT_IMAGES), probe
    # the content reaches far down the page (plots and the image grid)
    rows = np.flatnonzero((pixels < 250).any(axis=1))
    assert rows.max() > 2000
    shutil.copy(shot, report['root'] / 'screenshot.png')  # kept for a look


@needs_chromium
def test_render_check_catches_a_broken_page(tmp_path):
    page = tmp_path / 'broken.html'
    page.write_text('<!DOCTYPE html><html><head><title>x</title></head><body><h1>Broken</h1>'
                    '<img src="data:image/png;base64,AAAA">'
                    '<script>undefinedFunction();</script></body></html>')
    _, console, probe = render_check(page, tmp_path)
    assert any('Uncaught ReferenceError' in line for line in console), console
    assert probe['broken'] == 1
    assert any('undefinedFunction' in e for e in probe['errors'])
    assert any('failed to load data:image/png' in e for e in probe['errors'])
    blank = tmp_path / 'blank.html'
    blank.write_text('<!DOCTYPE html><html><head></head><body></body></html>')
    with pytest.raises(AssertionError, match='blank'):
        assert_not_blank(render_check(blank, tmp_path)[0])


# -------------------------------------------------------------- TensorBoard


def test_tensorboard_runtime_base_and_flag_configure_the_backend(tmp_path):
    """The demo config with its runtime base (listed by its schedule base) swapped
    for the TensorBoard one; the flag's helper adds the backend once and keeps the
    others."""
    schedules = osp.join(ROOT, 'configs', '_base_', 'schedules')
    text = open(osp.join(schedules, 'demo_schedule.py')).read()
    assert STOCK_RUNTIME in text
    (tmp_path / 'schedule_tb.py').write_text(
        text.replace(STOCK_RUNTIME, TENSORBOARD_RUNTIME).replace("'./", f"'{schedules}/"))
    text = open(DEMO_CONFIG).read()
    assert "'../_base_/schedules/demo_schedule.py'" in text
    text = text.replace("'../_base_/schedules/demo_schedule.py'", repr(
        str(tmp_path / 'schedule_tb.py'))).replace("'../_base_/", f"'{ROOT}/configs/_base_/")
    (tmp_path / 'demo_tb.py').write_text(text)
    cfg = Config.fromfile(str(tmp_path / 'demo_tb.py'))
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'TensorboardVisBackend']
    assert cfg.default_hooks.checkpoint.save_best == 'multi-label/mAP'  # the rest stays
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.visualizer.vis_backends.append(dict(type='WandbVisBackend'))
    enable_tensorboard(cfg)
    enable_tensorboard(cfg)
    assert [b['type'] for b in cfg.visualizer.vis_backends] == [
        'LocalVisBackend', 'WandbVisBackend', 'TensorboardVisBackend']


@pytest.mark.slow
def test_tensorboard_flag_logs_loss_and_map(tmp_path):
    """Two iterations of the tiny demo with --tensorboard write event files
    holding the training loss and the validation mAP."""
    train_tool = load_script('tools/train.py')
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    work_dir = tmp_path / 'work'
    runner = train_tool.main([TINY_CONFIG, '--work-dir', str(work_dir), '--tensorboard',
                              '--cfg-options', *_data_options(tmp_path / 'data')])
    assert runner.iter == 2
    events = sorted(work_dir.glob('*/vis_data/events.out.tfevents.*'))
    assert events, f'no event file under {work_dir}'
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = acc.Tags()['scalars']
    assert {'loss', 'multi-label/mAP'} <= set(tags), tags
    loss = acc.Scalars('loss')
    assert [e.step for e in loss] == [1, 2] and all(math.isfinite(e.value) for e in loss)
    (m,) = acc.Scalars('multi-label/mAP')
    assert 0 <= m.value <= 100


def test_report_keeps_the_ema_pass_only():
    """With the recipe's EMAHook (EMA and raw evaluated), the raw pass would
    overwrite the report; the report describes the checkpoint's state_dict
    (the EMA weights), which inference and export use."""
    test_tool = load_script('tools/test.py')
    config = osp.join(ROOT, 'tests', 'data', 'tiny_recipe_demo.py')
    args = test_tool.parse_args([config, 'ckpt.pth', '--report', 'out'])
    cfg = merge_test_args(Config.fromfile(config), args)
    ema = [h for h in cfg.custom_hooks if h['type'] == 'EMAHook']
    assert ema and ema[0]['evaluate_on_ema'] and not ema[0]['evaluate_on_origin']
    plain = merge_test_args(Config.fromfile(config),
                                 test_tool.parse_args([config, 'ckpt.pth']))
    assert [h for h in plain.custom_hooks if h['type'] == 'EMAHook'][0]['evaluate_on_origin']


def test_report_cards_skip_unreadable_images(tmp_path, coco128_root):
    """A real photo gets a thumbnail; a corrupt, an empty, a non-image and a
    missing file are named in a warning, get a placeholder card and are
    listed under the grid; strict=True stops at the first one."""
    from mmpretrain_multilabel.evaluation.report import write_report
    photo = sorted(osp.join(coco128_root, 'train2017', f)
                   for f in os.listdir(osp.join(coco128_root, "train2017")))[0]
    corrupt = tmp_path / 'corrupt.jpg'
    corrupt.write_bytes(open(photo, 'rb').read()[:200])  # a JPEG header, then nothing
    empty = tmp_path / 'empty.png'
    empty.write_bytes(b'')
    text = tmp_path / 'notes.jpg'
    text.write_text('not an image')
    paths = [photo, str(corrupt), str(empty), str(text), str(tmp_path / 'missing.jpg')]
    rng = np.random.RandomState(0)
    scores = rng.rand(len(paths), 3)
    targets = (rng.rand(len(paths), 3) > 0.5).astype(int)
    with pytest.warns(UserWarning) as record:
        out = write_report(str(tmp_path / 'report'), scores, targets, ['a', 'b', 'c'], {},
                           img_paths=paths)
    warned = ' '.join(str(w.message) for w in record)
    bad = paths[1:]
    assert all(p in warned for p in bad)
    page = open(out).read()
    assert page.count('<img src="data:image/jpeg') == 1  # the photo's thumbnail only
    assert page.count('class="missing"') == len(bad)
    assert f'{len(bad)} image file(s) could not be read' in page
    assert all(p in page for p in bad)
    with pytest.raises(ValueError, match='cannot read image .*(corrupt|empty|notes|missing)'):
        write_report(str(tmp_path / 'strict'), scores, targets, ['a', 'b', 'c'], {},
                     img_paths=paths, strict=True)
