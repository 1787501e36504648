"""SAMOptimWrapper: trajectory against a plain SAM written here, batch norm,
clipping, accumulation, DDP (real gloo processes and tools/dist_train.sh),
AMP, checkpoint round trip and error cases."""
import copy
import io
import multiprocessing as mp
import os
import traceback
from contextlib import contextmanager
from unittest import mock

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModel, MMDistributedDataParallel

from mmpretrain_multilabel.apis import enable_amp, merge_train_args
from mmpretrain_multilabel.engine import AmpSAMOptimWrapper, SAMOptimWrapper

from .training_recipe_utils import (
    free_port,
    load_ckpt,
    load_train_tool,
    train_1proc,
    train_2proc,
    write_tiny_config,
)

LR, MOMENTUM, WD, RHO = 0.1, 0.9, 1e-3, 0.05


class TinyNet(BaseModel):
    """Linear -> (BN) -> tanh -> Linear, BCE loss; counts its forwards."""

    def __init__(self, norm: bool = True):
        super().__init__()
        self.fc1 = nn.Linear(5, 7)
        self.bn = nn.BatchNorm1d(7) if norm else nn.Identity()
        self.fc2 = nn.Linear(7, 3)
        self.calls = 0

    def forward(self, inputs, targets=None, mode='tensor'):
        self.calls += 1
        logits = self.fc2(torch.tanh(self.bn(self.fc1(inputs))))
        if mode == 'loss':
            return dict(loss=F.binary_cross_entropy_with_logits(logits, targets))
        return logits


def make_batches(n, size=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(size, 5, generator=g) * 2,
                 targets=(torch.rand(size, 3, generator=g) > 0.5).float())
            for _ in range(n)]


def make_model(norm=True, seed=0):
    torch.manual_seed(seed)
    return TinyNet(norm)


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WD)


def reference_sam(model, batches, rho=RHO, adaptive=False, accumulate=1, clip=None,
                  shards=1, autocast=False):
    """Plain SAM (Foret et al.): per micro-batch, ascend along its gradient,
    take the gradient there with BN running stats left alone, come back;
    ``shards`` > 1 perturbs each shard along its own gradient (DDP without
    synchronised first pass) and averages the shards' second gradients."""
    params = list(model.parameters())
    opt = sgd(model)

    def loss_of(batch):
        ctx = torch.autocast('cpu', dtype=torch.bfloat16) if autocast else _null()
        with ctx:
            return model(**batch, mode='loss')['loss']

    for start in range(0, len(batches), accumulate):
        total = [torch.zeros_like(p) for p in params]
        for batch in batches[start:start + accumulate]:
            for s in range(shards):
                shard = {k: v[s::shards] for k, v in batch.items()}
                g = torch.autograd.grad(loss_of(shard) / accumulate, params)
                weights = [p.abs() if adaptive else 1.0 for p in params]
                norm = torch.sqrt(sum(((w * gi)**2).sum() for w, gi in zip(weights, g)))
                old = [p.detach().clone() for p in params]
                with torch.no_grad():
                    for p, gi in zip(params, g):
                        p.add_((p * p if adaptive else 1.0) * gi * rho / (norm + 1e-12))
                stats = {k: v.clone() for k, v in model.named_buffers()}
                g2 = torch.autograd.grad(loss_of(shard) / accumulate, params)
                with torch.no_grad():
                    for k, v in model.named_buffers():
                        v.copy_(stats[k])
                    for p, o in zip(params, old):
                        p.copy_(o)
                total = [t + gi / shards for t, gi in zip(total, g2)]
        for p, t in zip(params, total):
            p.grad = t
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        opt.zero_grad()
    return model


@contextmanager
def _null():
    yield


def train_wrapper(model, batches, wrapper_cls=SAMOptimWrapper, **kwargs):
    wrapper = wrapper_cls(optimizer=sgd(model), **kwargs)
    for batch in batches:
        model.train_step(batch, wrapper)
    return wrapper


def assert_same_state(a, b, atol=1e-6):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        torch.testing.assert_close(sa[k].float(), sb[k].float(), atol=atol, rtol=0,
                                   msg=lambda m, k=k: f'{k}: {m}')


# ------------------------------------------------------------ single process --
@pytest.mark.parametrize('adaptive', [False, True])
def test_trajectory_matches_reference_sam(adaptive):
    batches = make_batches(5)
    model, ref = make_model(), make_model()
    train_wrapper(model, batches, rho=RHO, adaptive=adaptive)
    reference_sam(ref, batches, adaptive=adaptive)
    assert_same_state(model, ref)
    # SAM really differs from the base optimizer here
    plain = make_model()
    opt = sgd(plain)
    for b in batches:
        opt.zero_grad()
        plain(**b, mode='loss')['loss'].backward()
        opt.step()
    assert (plain.fc1.weight - model.fc1.weight).abs().max() > 1e-4
    assert model.calls == 2 * len(batches)  # two passes per step


def test_batch_norm_stats_follow_first_pass_only():
    batch = make_batches(1)[0]
    model, probe = make_model(), make_model()
    train_wrapper(model, [batch], rho=0.5)
    probe.train()
    probe(**batch, mode='loss')  # one training forward at w
    for name in ('running_mean', 'running_var', 'num_batches_tracked'):
        torch.testing.assert_close(getattr(model.bn, name), getattr(probe.bn, name))
    assert int(model.bn.num_batches_tracked) == 1
    assert model.bn.track_running_stats  # restored after the second pass


@pytest.mark.parametrize('clip', [None, 0.05])
def test_accumulation_and_clipping_match_reference(clip):
    batches = make_batches(6)
    model, ref = make_model(), make_model()
    clip_cfg = None if clip is None else dict(max_norm=clip)
    wrapper = train_wrapper(model, batches, rho=RHO, accumulative_counts=2,
                            clip_grad=clip_cfg)
    reference_sam(ref, batches, accumulate=2, clip=clip)
    assert_same_state(model, ref)
    assert wrapper.inner_count == 6
    if clip is not None:  # the clip ran on the second-pass gradient
        assert wrapper.message_hub.get_scalar('train/grad_norm').current() > clip


def test_explicit_closure_equals_recorded_forward():
    batches = make_batches(3)
    a, b = make_model(), make_model()
    train_wrapper(a, batches)
    wrapper = SAMOptimWrapper(optimizer=sgd(b))
    for batch in batches:
        with wrapper.optim_context(b):
            loss = b(**batch, mode='loss')['loss']
        wrapper.update_params(loss, closure=lambda batch=batch: b(**batch, mode='loss')['loss'])
    assert_same_state(a, b, atol=0)


def test_resume_round_trip():
    batches = make_batches(4)
    straight = make_model()
    train_wrapper(straight, batches)

    first = make_model()
    wrapper = train_wrapper(first, batches[:2])
    buf = io.BytesIO()
    torch.save(dict(model=first.state_dict(), optim=wrapper.state_dict()), buf)
    buf.seek(0)
    saved = torch.load(buf)
    assert saved['optim']['sam'] == dict(rho=RHO, adaptive=False)
    assert saved['optim']['state']  # momentum buffers travel

    resumed = make_model(seed=123)
    resumed.load_state_dict(saved['model'])
    wrapper2 = SAMOptimWrapper(optimizer=sgd(resumed))
    wrapper2.load_state_dict(saved['optim'])
    for batch in batches[2:]:
        resumed.train_step(batch, wrapper2)
    assert_same_state(straight, resumed, atol=0)


def test_errors_are_clear():
    model = make_model()
    with pytest.raises(ValueError, match='rho'):
        SAMOptimWrapper(optimizer=sgd(model), rho=-0.1)
    with pytest.raises(TypeError, match='adaptive'):
        SAMOptimWrapper(optimizer=sgd(model), adaptive='yes')
    wrapper = SAMOptimWrapper(optimizer=sgd(model))
    batch = make_batches(1)[0]
    with pytest.raises(RuntimeError, match='optim_context'):
        wrapper.update_params(model(**batch, mode='loss')['loss'])
    with wrapper.optim_context(model):
        model(**batch, mode='loss')
        loss = model(**batch, mode='loss')['loss']
    with pytest.raises(RuntimeError, match='2 calls'):
        wrapper.update_params(loss)
    bad = dict(batch, inputs=torch.full_like(batch['inputs'], float('nan')))
    with pytest.raises(FloatingPointError, match='gradient norm'):
        model.train_step(bad, wrapper)


# ------------------------------------------------------------------ DDP -----
class SyncRecorder(nn.Module):
    """Stands in for DDP: records whether gradient sync was on at forward."""

    def __init__(self, module):
        super().__init__()
        self.module, self.sync, self.log = module, True, []

    @contextmanager
    def no_sync(self):
        old, self.sync = self.sync, False
        try:
            yield
        finally:
            self.sync = old

    def parse_losses(self, losses):
        return self.module.parse_losses(losses)

    def forward(self, *args, **kwargs):
        self.log.append(self.sync)
        return self.module(*args, **kwargs)


@pytest.mark.parametrize('sync_perturbation,accumulate,expected', [
    (False, 1, [False, True]),
    (True, 1, [True, True]),
    (False, 2, [False, False, False, True]),
    (True, 2, [True, False, True, True]),
])
def test_first_pass_sync_policy(sync_perturbation, accumulate, expected):
    rec = SyncRecorder(make_model())
    wrapper = SAMOptimWrapper(optimizer=sgd(rec.module), accumulative_counts=accumulate,
                              sync_perturbation=sync_perturbation)
    for batch in make_batches(accumulate):
        with wrapper.optim_context(rec):
            loss = rec(**batch, mode='loss')['loss']
        wrapper.update_params(loss)
    assert rec.log == expected


def _ddp_worker(rank, port, out_dir, batches):
    try:
        torch.set_num_threads(1)
        torch.distributed.init_process_group(
            'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=2)
        for sync in (False, True):
            model = make_model(norm=False)
            ddp = MMDistributedDataParallel(module=model, device_ids=None)
            wrapper = SAMOptimWrapper(optimizer=sgd(model), sync_perturbation=sync)
            for batch in batches:
                ddp.train_step({k: v[rank::2] for k, v in batch.items()}, wrapper)
            if rank == 0:
                torch.save(model.state_dict(), os.path.join(out_dir, f'sync_{sync}.pth'))
        torch.distributed.destroy_process_group()
    except BaseException:
        with open(os.path.join(out_dir, f'error_{rank}.txt'), 'w') as f:
            f.write(traceback.format_exc())
        raise


@pytest.mark.slow
def test_ddp_two_processes_match_references(tmp_path):
    """Real DDP (gloo, 2 forked processes): a local first pass equals SAM with
    per-shard perturbations; a synchronised one equals one process with the
    global batch."""
    batches = make_batches(3)
    ctx = mp.get_context('fork')  # inherit the imports: no start-up cost
    port = free_port()
    procs = [ctx.Process(target=_ddp_worker, args=(r, port, str(tmp_path), batches))
             for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    for p in procs:  # a stuck rank fails the test instead of hanging the suite at exit
        if p.is_alive():
            p.kill()
            p.join()
    errors = [f.read_text() for f in tmp_path.glob('error_*.txt')]
    assert all(p.exitcode == 0 for p in procs), errors
    for sync, shards in ((False, 2), (True, 1)):
        ref = reference_sam(make_model(norm=False), batches, shards=shards)
        got = torch.load(tmp_path / f'sync_{sync}.pth')
        for k, v in ref.state_dict().items():
            torch.testing.assert_close(got[k], v, atol=1e-6, rtol=0)
    local = torch.load(tmp_path / 'sync_False.pth')['fc1.weight']
    glob = torch.load(tmp_path / 'sync_True.pth')['fc1.weight']
    assert (local - glob).abs().max() > 1e-6  # the two modes really differ


@pytest.mark.slow
def test_tools_two_processes_equal_one_process(tmp_path):
    """tools/train.py (1 process, batch 8) and tools/dist_train.sh (2 processes,
    batch 4 each) with the full recipe give the same weights, EMA weights, LR
    estimate and early-stopping state (batch-independent GroupNorm model,
    synchronised first pass)."""
    data = tmp_path / 'data'
    extra = '\noptim_wrapper = dict(sync_perturbation=True)\n'
    common = dict(norm='GN', lr_estimation=True, max_epochs=2, extra=extra)
    cfg1 = write_tiny_config(tmp_path / 'one.py', data, batch_size=8, **common)
    cfg2 = write_tiny_config(tmp_path / 'two.py', data, batch_size=4, **common)
    train_1proc(cfg1, tmp_path / 'one')
    train_2proc(cfg2, tmp_path / 'two')
    a = load_ckpt(tmp_path / 'one' / 'epoch_2.pth')
    b = load_ckpt(tmp_path / 'two' / 'epoch_2.pth')
    for key in ('state_dict', 'ema_state_dict'):
        for k, v in a[key].items():
            torch.testing.assert_close(b[key][k].float(), v.float(), atol=1e-4, rtol=1e-4)
    assert a['optimizer']['param_groups'][0]['max_lr'] == pytest.approx(
        b['optimizer']['param_groups'][0]['max_lr'], rel=1e-6)
    assert a['optimizer']['param_groups'][0]['max_lr'] != pytest.approx(0.05)  # estimated
    sa, sb = a['meta']['early_stopping'], b['meta']['early_stopping']
    assert [h['step'] for h in sa['history']] == [h['step'] for h in sb['history']]
    for ha, hb in zip(sa['history'], sb['history']):
        assert ha['raw'] == pytest.approx(hb['raw'], abs=1e-3)
        assert ha['ema'] == pytest.approx(hb['ema'], abs=1e-3)
    assert sa['best_smoothed'] == pytest.approx(sb['best_smoothed'], abs=1e-3)


# ------------------------------------------------------------------ AMP -----
def test_amp_flag_selects_the_sam_amp_variant(tmp_path):
    cfg = Config(dict(optim_wrapper=dict(type='SAMOptimWrapper', rho=0.05,
                                         optimizer=dict(type='SGD', lr=0.1))))
    enable_amp(cfg)
    assert cfg.optim_wrapper.type == 'AmpSAMOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic' and cfg.optim_wrapper.rho == 0.05
    enable_amp(cfg)  # idempotent
    assert cfg.optim_wrapper.type == 'AmpSAMOptimWrapper'
    # through tools/train.py's argument handling with the recipe config
    tool = load_train_tool()
    path = write_tiny_config(tmp_path / 'amp.py', tmp_path / 'data')
    args = tool.parse_args([path, '--amp', '--work-dir', str(tmp_path / 'w')])
    merged = merge_train_args(Config.fromfile(path), args)
    assert merged.optim_wrapper.type == 'AmpSAMOptimWrapper'


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only error')
def test_amp_without_gpu_is_a_clear_error():
    with pytest.raises(AssertionError, match='only available training on gpu'):
        AmpSAMOptimWrapper(optimizer=sgd(make_model()))


class FakeScaler:
    """Static loss scaling with GradScaler's interface, in plain torch (CPU).
    Fails if ``unscale_`` runs twice before ``update``."""

    def __init__(self, scale):
        self.scale_value, self.unscaled, self.found_inf = scale, False, False
        self.unscale_calls = self.steps = self.skipped = 0

    def scale(self, loss):
        return loss * self.scale_value

    def get_scale(self):
        return self.scale_value

    def unscale_(self, optimizer):
        assert not self.unscaled, 'unscale_ called twice in one update'
        self.unscaled, self.unscale_calls = True, self.unscale_calls + 1
        grads = [p.grad for g in optimizer.param_groups for p in g['params']
                 if p.grad is not None]
        self.found_inf = not all(torch.isfinite(g).all() for g in grads)
        for g in grads:
            g.mul_(1.0 / self.scale_value)

    def step(self, optimizer, **kwargs):
        if not self.unscaled:
            self.unscale_(optimizer)
        if self.found_inf:
            self.skipped += 1
        else:
            optimizer.step(**kwargs)
            self.steps += 1

    def update(self, new_scale=None):
        if self.found_inf:
            self.scale_value /= 2
        self.unscaled = self.found_inf = False

    def state_dict(self):
        return dict(scale=self.scale_value)

    def load_state_dict(self, state):
        self.scale_value = state['scale']


def amp_wrapper(model, scale, **kwargs):
    with mock.patch('mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available',
                    return_value=True):
        wrapper = AmpSAMOptimWrapper(optimizer=sgd(model), dtype='bfloat16', **kwargs)
    wrapper.loss_scaler = FakeScaler(scale)
    return wrapper


@pytest.mark.parametrize('clip', [None, 0.05])
def test_amp_logic_matches_reference_under_bf16(clip):
    """Scaled losses under bf16 autocast: the perturbation uses the unscaled
    norm, unscale_ runs once per update, the trajectory equals plain SAM."""
    batches = make_batches(4)
    model, ref = make_model(), make_model()
    wrapper = amp_wrapper(model, 2.0**12,
                          clip_grad=None if clip is None else dict(max_norm=clip))
    for batch in batches:
        model.train_step(batch, wrapper)
    reference_sam(ref, batches, clip=clip, autocast=True)
    assert_same_state(model, ref, atol=1e-5)
    assert wrapper.loss_scaler.steps == 4
    assert wrapper.loss_scaler.unscale_calls == 4  # once per update, by step()
    assert 'loss_scaler' in wrapper.state_dict() and 'sam' in wrapper.state_dict()


def test_amp_overflow_skips_the_update():
    model = make_model()
    before = copy.deepcopy(model.state_dict())
    wrapper = amp_wrapper(model, float('inf'))
    model.train_step(make_batches(1)[0], wrapper)
    assert model.calls == 1  # no second pass at an overflowed perturbation
    assert wrapper.loss_scaler.skipped == 1 and wrapper.loss_scaler.steps == 0
    assert wrapper.inner_count == 1
    after = model.state_dict()
    for k in ('fc1.weight', 'fc2.bias'):
        torch.testing.assert_close(after[k], before[k], atol=0, rtol=0)
    assert all(p.grad is None for p in model.parameters())
