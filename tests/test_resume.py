"""Exact resume (ExactResumeHook, added by tools/train.py): a run of the main
demo recipe (SAM, EMA, OneCycle, early stopping, best checkpoint) killed
with SIGKILL inside an epoch and resumed ends bit-identical to the
uninterrupted run; truncated and foreign checkpoints are refused with the
file named."""
import os
import os.path as osp
import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.engine.hooks import (
    CheckpointMismatchError,
    check_resume_checkpoint,
    get_rng_states,
    set_rng_states,
    state_dict_mismatches,
)
from mmpretrain_multilabel.engine.hooks.early_stopping_hook import STATE_KEY as EARLY_STOPPING_KEY
from mmpretrain_multilabel.engine.hooks.wiseft_hook import START_KEY as WISEFT_START

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY_RECIPE = osp.join(ROOT, 'tests', 'data', 'tiny_recipe_demo.py')
TINY_CONFIG = osp.join(ROOT, 'tests', 'data', 'tiny_demo.py')
train_tool = load_script('tools/train.py')

EPOCHS = 3  # of 2 iterations each
KILL_AT_ITER = 3  # inside the second epoch: resumes from epoch_1.pth


def write_config(tmp_path) -> str:
    """The tiny main-demo recipe for 3 epochs, deterministic, data in
    tmp_path, with a hook that SIGKILLs the process after iteration
    ``kill_at`` when the environment asks for it."""
    path = tmp_path / 'resume_cfg.py'
    data = str(tmp_path / 'data')
    path.write_text(textwrap.dedent(f"""
        _base_ = [{TINY_RECIPE!r}]
        train_cfg = dict(max_epochs={EPOCHS})
        param_scheduler = dict(total_steps={EPOCHS})
        randomness = dict(seed=0, deterministic=True)
        train_dataloader = dict(dataset=dict(data_root={data!r}))
        val_dataloader = dict(dataset=dict(data_root={data!r}))
        test_dataloader = val_dataloader
        default_hooks = dict(checkpoint=dict(max_keep_ckpts=1))
        custom_hooks = _base_.custom_hooks + [dict(type='WiSEFTHook', alpha=0.5)]
    """))
    return str(path)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from mmengine.hooks import Hook
    from mmpretrain.registry import HOOKS
    import runpy
    train = runpy.run_path('tools/train.py', run_name='train')

    class Kill(Hook):
        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if runner.iter + 1 == int(os.environ['KILL_AT_ITER']):
                os.kill(os.getpid(), signal.SIGKILL)

    HOOKS.register_module(module=Kill)
    train['main'](sys.argv[1:])
""")


def tensors(checkpoint: dict) -> dict:
    """Every tensor of the weights, EMA weights and optimizer state."""
    out = {f'state_dict.{k}': v for k, v in checkpoint['state_dict'].items()}
    out.update({f'ema.{k}': v for k, v in checkpoint['ema_state_dict'].items()})
    for pid, state in checkpoint['optimizer']['state'].items():
        out.update({f'optimizer.{pid}.{k}': v for k, v in state.items()
                    if torch.is_tensor(v)})
    return out


@pytest.fixture
def one_thread():
    """Bitwise equality across processes holds for one CPU thread count: the
    three runs (two here, one in a subprocess) all use one thread, so no
    reduction order can depend on how many threads a library picks."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield dict(os.environ, OMP_NUM_THREADS='1', MKL_NUM_THREADS='1')
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_sigkilled_run_resumes_bit_identical(tmp_path, one_thread):
    cfg_path = write_config(tmp_path)
    full = train_tool.main([cfg_path, '--work-dir', str(tmp_path / 'full')])
    assert full.iter == 2 * EPOCHS

    kill_cfg = tmp_path / 'kill_cfg.py'
    kill_cfg.write_text(f"_base_ = [{cfg_path!r}]\n"
                        "custom_hooks = _base_.custom_hooks + [dict(type='Kill')]\n")
    env = dict(one_thread, KILL_AT_ITER=str(KILL_AT_ITER))
    killed = subprocess.run([sys.executable, '-c', KILLER, str(kill_cfg), '--work-dir',
                             str(tmp_path / 'resumed')],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert killed.returncode == -9, killed.stderr[-3000:]  # SIGKILL
    assert (tmp_path / 'resumed' / 'epoch_1.pth').exists()
    assert not (tmp_path / 'resumed' / 'epoch_2.pth').exists()

    resumed = train_tool.main([cfg_path, '--work-dir', str(tmp_path / 'resumed'), '--resume'])
    assert resumed.iter == 2 * EPOCHS
    want = torch.load(tmp_path / 'full' / f'epoch_{EPOCHS}.pth', map_location='cpu')
    got = torch.load(tmp_path / 'resumed' / f'epoch_{EPOCHS}.pth', map_location='cpu')
    want_t, got_t = tensors(want), tensors(got)
    assert want_t.keys() == got_t.keys() and len(want_t) > 100
    different = [k for k in want_t if not torch.equal(want_t[k], got_t[k])]
    assert not different, different[:5]
    # scheduler, early stopping and best-checkpoint state went on as well
    assert got['param_schedulers'] == want['param_schedulers']
    assert got['meta'][EARLY_STOPPING_KEY] == want['meta'][EARLY_STOPPING_KEY]
    for key in ('best_score', 'best_ckpt'):
        assert osp.basename(str(got['message_hub']['runtime_info'][key])) == osp.basename(
            str(want['message_hub']['runtime_info'][key]))
    # and the random generators are those of the uninterrupted run
    for name in ('torch', 'numpy'):
        a, b = want['meta']['rng_states'][name], got['meta']['rng_states'][name]
        assert torch.equal(a, b) if name == 'torch' else np.array_equal(a[1], b[1])
    # WiSEFTHook: the start came back with the checkpoint, so the resumed run averages
    # the same weights: wiseft.pth is the start and the final weights halfway
    start = want[WISEFT_START]
    assert all(torch.equal(start[k], got[WISEFT_START][k]) for k in start)
    wiseft = [torch.load(tmp_path / run / 'wiseft.pth', map_location='cpu')
              for run in ('full', 'resumed')]
    assert WISEFT_START not in wiseft[0] and wiseft[0]['meta']['wiseft'] == 0.5
    for key, final in (('state_dict', ''), ('ema_state_dict', 'module.')):
        for name, value in want[key].items():
            if value.is_floating_point():
                start_value = start[name[len(final):]]
                assert torch.equal(wiseft[0][key][name], wiseft[1][key][name]), name
                torch.testing.assert_close(wiseft[0][key][name],
                                           torch.lerp(start_value, value, .5))
    moved = [k for k, v in start.items() if not torch.equal(v, want['state_dict'][k])]
    assert len(moved) > 10  # training changed the trainable weights


def test_rng_states_round_trip():
    states = get_rng_states()
    want = (random.random(), np.random.rand(3), torch.rand(3))
    set_rng_states(states)
    got = (random.random(), np.random.rand(3), torch.rand(3))
    assert want[0] == got[0] and np.array_equal(want[1], got[1]) and torch.equal(want[2], got[2])


def test_truncated_and_foreign_checkpoints_are_refused(tmp_path):
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(TINY_RECIPE).model)
    good = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(epoch=1, iter=2)), good)
    assert check_resume_checkpoint(str(good), model)['meta']['epoch'] == 1

    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:good.stat().st_size // 2])
    with pytest.raises(CheckpointMismatchError,
                       match=f'cannot read checkpoint {truncated}.*truncated'):
        check_resume_checkpoint(str(truncated), model)

    other = MODELS.build(Config.fromfile(TINY_CONFIG).model)  # linear head, not ML-Decoder
    with pytest.raises(CheckpointMismatchError,
                       match=f'cannot resume from {good}.*missing keys: head.fc') as e:
        check_resume_checkpoint(str(good), other)
    assert 'unexpected keys' in str(e.value)

    weights_only = tmp_path / 'weights.pth'
    torch.save(dict(state_dict=model.state_dict()), weights_only)
    with pytest.raises(CheckpointMismatchError, match='no training progress'):
        check_resume_checkpoint(str(weights_only), model)


def test_state_dict_mismatches_lists_shapes():
    saved = {'module.a': torch.zeros(2, 3), 'b': torch.zeros(1)}
    expected = {'a': torch.zeros(3, 3), 'c': torch.zeros(1)}
    assert state_dict_mismatches(saved, expected) == [
        '1 missing keys: c', '1 unexpected keys: b',
        '1 shape mismatches: a: (2, 3) in the checkpoint, (3, 3) in the model']
    assert state_dict_mismatches(expected, expected) == []


def test_resume_from_a_truncated_checkpoint_stops_with_its_name(tmp_path):
    cfg_path = write_config(tmp_path)
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    (work_dir / 'epoch_1.pth').write_bytes(b'PK\x03\x04 not a whole checkpoint')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    with pytest.raises(CheckpointMismatchError, match='epoch_1.pth'):
        train_tool.main([cfg_path, '--work-dir', str(work_dir), '--resume'])
