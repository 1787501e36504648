"""The plugin's foundation: registration, demo config, stock-style tools, and
the embedded demo dataset."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS, HOOKS, MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import DEMO_CLASSES, DemoScenes, render_scene

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(ROOT, 'configs', 'demo', 'lite0_linear-asl_1xb32_demo-128px.py')
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')
TINY_RECIPE = osp.join(ROOT, 'tests', 'data', 'tiny_recipe_demo.py')
TINY_MAIN = osp.join(ROOT, 'tests', 'data', 'tiny_main_demo.py')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _data_options(data_root):
    return [f'{loader}.dataset.data_root={data_root}'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]


@pytest.mark.parametrize('registry,name', [
    (DATASETS, 'DemoScenes'),
    (MODELS, 'FreezableTIMMBackbone'),
    (HOOKS, 'TrainingSummaryHook'),
])
def test_components_are_registered_in_mmpretrain(registry, name):
    assert registry.get(name) is not None, f'{name} missing from {registry.name}'


def test_demo_config_builds_the_model():
    cfg = Config.fromfile(DEMO_CONFIG)
    model = MODELS.build(cfg.model)
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
    assert frozen and all(n.startswith('backbone.timm_model.') for n in frozen)
    assert model.head.num_classes == len(DEMO_CLASSES)


def test_render_scene_is_deterministic():
    img_a, info_a = render_scene(1234, 96)
    img_b, info_b = render_scene(1234, 96)
    assert np.array_equal(np.asarray(img_a), np.asarray(img_b))
    assert info_a == info_b
    img_c, _ = render_scene(1235, 96)
    assert not np.array_equal(np.asarray(img_a), np.asarray(img_c))


@pytest.mark.parametrize('seed', range(40))
def test_demo_labels_match_the_drawn_pixels(seed):
    img, info = render_scene(seed, 96, with_owner_map=True)
    pixels = np.asarray(img)
    owner = info['owner']
    labelled = set()
    for idx, obj in enumerate(info['objects']):
        visible = owner == idx
        assert visible.sum() == obj['visible']
        if obj['labelled']:
            labelled.add(DEMO_CLASSES.index(obj['name']))
            assert obj['visible'] >= 0.3 * obj['area'] > 0
            # every pixel this object owns carries one of its two colours
            own = pixels[visible][:, None, :] == np.array(obj['colours'])[None]
            assert own.all(axis=2).any(axis=1).all(), obj
    assert info['gt_label'] == sorted(labelled)
    assert len(labelled) >= 1 or not info['objects']


def test_demo_dataset_caches_and_regenerates(tmp_path):
    ds = DemoScenes(data_root=str(tmp_path), split='val', num_images=6, img_size=48)
    assert len(ds) == 6 and ds.CLASSES == DEMO_CLASSES
    ann = json.loads((tmp_path / 'val.json').read_text())
    mtime = os.path.getmtime(tmp_path / 'val.json')
    DemoScenes(data_root=str(tmp_path), split='val', num_images=6, img_size=48)
    assert os.path.getmtime(tmp_path / 'val.json') == mtime  # reused
    other = tmp_path / 'copy'
    DemoScenes(data_root=str(other), split='val', num_images=6, img_size=48)
    assert json.loads((other / 'val.json').read_text()) == ann  # deterministic
    assert len(DemoScenes(data_root=str(tmp_path), split='val', num_images=4,
                          img_size=48)) == 4  # a changed size regenerates
    with pytest.raises(ValueError, match='split'):
        DemoScenes(data_root=str(tmp_path), split='test')


def test_demo_cooccurrence_has_structure(tmp_path):
    """Scenes make labels informative: P(star | moon) >> P(star)."""
    ds = DemoScenes(data_root=str(tmp_path), split='train', num_images=300, img_size=48)
    onehot = np.zeros((len(ds), len(DEMO_CLASSES)))
    for i in range(len(ds)):
        onehot[i, ds.get_cat_ids(i)] = 1
    moon, star, sun = (DEMO_CLASSES.index(c) for c in ('moon', 'star', 'sun'))
    p_star = onehot[:, star].mean()
    p_star_given_moon = onehot[onehot[:, moon] == 1, star].mean()
    p_sun_given_moon = onehot[onehot[:, moon] == 1, sun].mean()
    assert p_star_given_moon > 2 * p_star
    assert p_sun_given_moon < onehot[:, sun].mean()


@pytest.mark.slow
@pytest.mark.parametrize('config,key', [(TINY_CONFIG, 'multi-label/mAP'),
                                        (TINY_RECIPE, 'multi-label/mAP_raw_ema_max'),
                                        (TINY_MAIN, 'multi-label/mAP_raw_ema_max')])
def test_train_two_iterations_then_test(tmp_path, config, key):
    """tools/train.py with num_workers=0 trains, validates and checkpoints;
    tools/test.py evaluates the checkpoint; the summary is logged. The stock-head
    demo, the full recipe (ML-Decoder, SAM) and the README's main demo run."""
    test_tool = load_script('tools/test.py')
    train_tool = load_script('tools/train.py')
    work_dir = tmp_path / 'work'
    runner = train_tool.main([config, '--work-dir', str(work_dir), '--cfg-options',
                              *_data_options(tmp_path / 'data')])
    assert runner.iter == 2
    ckpt = work_dir / 'epoch_1.pth'
    assert ckpt.exists()
    plots = tmp_path / 'plots'
    metrics = test_tool.main([config, str(ckpt), '--work-dir', str(work_dir),
                              '--plots', str(plots),
                              '--cfg-options', *_data_options(tmp_path / 'data')])
    assert 0 <= metrics['multi-label/mAP'] <= 100
    assert {'multi-label/CF1', 'multi-label/OF1'} <= metrics.keys()
    assert list(plots.glob('*.png'))
    log = sorted(work_dir.glob('*/*.log'))[0].read_text()  # the training run's log
    assert f'Best {key}' in log and 'python tools/test.py' in log
    assert 'Chance level of the validation set' in log


def test_amp_flag_never_drops_a_custom_optim_wrapper():
    from mmpretrain_multilabel.apis import enable_amp
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD'))))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    from mmengine.optim import OptimWrapper
    from mmpretrain.registry import OPTIM_WRAPPERS

    @OPTIM_WRAPPERS.register_module(force=True)
    class _NoAmpWrapper(OptimWrapper):
        pass

    cfg = Config(dict(optim_wrapper=dict(type='_NoAmpWrapper', optimizer=dict(type='SGD'))))
    with pytest.raises(ValueError, match='_NoAmpWrapper'):
        enable_amp(cfg)


def _run(cmd, env):
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.mark.slow
def test_two_process_cpu_training_and_evaluation_match_one_process(tmp_path):
    """dist_train.sh trains the main demo (SAM under DDP) with 2 CPU processes
    (gloo); evaluating its checkpoint with 2 processes equals the 1-process
    evaluation (the 13 val images do not split evenly, so padding duplicates
    must be dropped)."""
    env = dict(os.environ, PORT=str(_free_port()), OMP_NUM_THREADS='1')
    data = _data_options(tmp_path / 'data')
    work_dir = tmp_path / 'dist'
    _run(['bash', 'tools/dist_train.sh', TINY_RECIPE, '2', '--work-dir', str(work_dir),
          '--cfg-options', *data], env)
    ckpt = work_dir / 'epoch_1.pth'
    assert ckpt.exists()
    results = {}
    for n in (1, 2):
        out = tmp_path / f'metrics{n}.json'
        env['PORT'] = str(_free_port())
        cmd = (['bash', 'tools/dist_test.sh', TINY_RECIPE, str(ckpt), '2'] if n == 2 else
               [sys.executable, 'tools/test.py', TINY_RECIPE, str(ckpt)])
        _run(cmd + ['--work-dir', str(tmp_path / f'test{n}'), '--out', str(out),
                    '--out-item', 'metrics', '--cfg-options', *data], env)
        results[n] = json.loads(out.read_text())
    assert results[1].keys() == results[2].keys()
    for key, value in results[1].items():
        assert results[2][key] == pytest.approx(value, abs=1e-4), key
