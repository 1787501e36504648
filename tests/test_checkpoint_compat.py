"""Checkpoints the MMEngine runner writes (message hub, NumPy values, a
OneCycle scheduler's bound methods) load through MMEngine's loader on every
torch, including torch >= 2.6 where ``torch.load`` defaults to
``weights_only=True``."""
import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.optim.scheduler import OneCycleLR
from mmengine.runner.checkpoint import _load_checkpoint, load_checkpoint

import mmpretrain_multilabel  # noqa: F401  registers the loader fix
from mmpretrain_multilabel.utils.torch_compat import (
    load_mmengine_checkpoint,
    onnx_export_kwargs,
    weights_only_is_default,
)


def runner_like_checkpoint(path):
    """What ``Runner.save_checkpoint`` stores besides the weights."""
    model = torch.nn.Linear(3, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = OneCycleLR(optim, eta_max=0.1, total_steps=10)
    buf = HistoryBuffer()
    buf.update(np.float64(0.5))
    ckpt = dict(meta=dict(epoch=1, seed=np.int64(3), dataset_meta=dict(classes=('a', 'b'))),
                state_dict=model.state_dict(), optimizer=optim.state_dict(),
                param_schedulers=[sched.state_dict()],
                message_hub=dict(log_scalars={'loss': buf}, runtime_info={'best': np.float32(1)}))
    torch.save(ckpt, path)
    return model


def test_weights_only_default_by_version():
    assert not weights_only_is_default('2.2.1')
    assert not weights_only_is_default('2.5.1+cu121')
    assert weights_only_is_default('2.6.0')
    assert weights_only_is_default('2.14.1+cu130')


def test_runner_checkpoint_loads_through_mmengine(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    model = runner_like_checkpoint(path)
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    assert ckpt['meta']['seed'] == 3
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 0.5
    assert callable(ckpt['param_schedulers'][0]['anneal_func'])
    fresh = torch.nn.Linear(3, 2)
    load_checkpoint(fresh, str(path), map_location='cpu', strict=True)
    for a, b in zip(fresh.state_dict().values(), model.state_dict().values()):
        assert torch.equal(a, b)
    assert load_mmengine_checkpoint(str(path))['meta']['epoch'] == 1
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_mmengine_checkpoint(str(tmp_path / 'missing.pth'))


def test_onnx_export_kwargs_select_the_torchscript_exporter(tmp_path):
    onnx = pytest.importorskip('onnx')
    kwargs = onnx_export_kwargs()
    assert kwargs in ({}, {'dynamo': False})
    path = str(tmp_path / 'linear.onnx')
    torch.onnx.export(torch.nn.Linear(4, 2), torch.zeros(1, 4), path, input_names=['input'],
                      output_names=['scores'], opset_version=17, **kwargs)
    assert [n.op_type for n in onnx.load(path).graph.node] == ['Gemm']
