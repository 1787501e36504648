"""Export to ONNX / OpenVINO (tools/deployment/export.py) and inference from
exported models (tools/infer.py): scores match PyTorch at any batch size,
metadata round-trips, the GAT neck is folded into constants (runs without
DGL), and the errors are clear. Demo models at 64 px, random weights."""
import csv
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import save_checkpoint
from mmpretrain.registry import MODELS

import mmpretrain_multilabel  # noqa: F401
from mmpretrain_multilabel.datasets import DEMO_CLASSES, DemoScenes
from mmpretrain_multilabel.deployment import (
    config_input_size,
    load_exported,
    resolve_thresholds,
)
from mmpretrain_multilabel.graph import random_label_graph
from mmpretrain_multilabel.utils.torch_compat import onnx_export_kwargs

from .scripts import load_script

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(ROOT, 'configs', 'demo')
infer = load_script('tools/infer.py')
export_tool = load_script('tools/deployment/export.py')

HAS_OPENVINO = importlib.util.find_spec('openvino') is not None
requires_openvino = pytest.mark.skipif(
    not HAS_OPENVINO, reason='openvino is not importable (pip install '
    '"mmpretrain-multilabel[deploy]")')
CONFIGS = ['lite0_mld-aam_1xb32_demo-128px.py', 'lite0_cosine-aam_1xb32_demo-128px.py',
           'lite0_gat-mld-aam_1xb32_demo-128px.py', 'lite0_linear-asl_1xb32_demo-128px.py']
GAT = 'lite0_gat-mld-aam_1xb32_demo-128px.py'
SIZE = 64
THRESHOLDS = {c: round(0.3 + 0.03 * i, 2) for i, c in enumerate(DEMO_CLASSES)}


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    """Demo images (64 px), a thresholds file and a label graph."""
    root = tmp_path_factory.mktemp('export')
    DemoScenes(data_root=str(root / 'data'), split='val', num_images=5, img_size=SIZE)
    (root / 'thresholds.json').write_text(json.dumps(THRESHOLDS))
    random_label_graph(len(DEMO_CLASSES)).save(str(root / 'graph.npz'))
    return root


def write_config(root, name: str) -> str:
    """A demo config at 64 px (GAT: the saved random label graph)."""
    path = root / f'{osp.splitext(name)[0]}_64.py'
    text = (f'_base_ = [{osp.join(DEMO, name)!r}]\n'
            f'test_dataloader = dict(dataset=dict(img_size={SIZE}, pipeline=['
            f"dict(type='LoadImageFromFile'), dict(type='Resize', scale=({SIZE}, {SIZE})), "
            f"dict(type='PackInputs')]))\n")
    if name == GAT:
        text += f'model = dict(neck=dict(graph={str(root / "graph.npz")!r}))\n'
    path.write_text(text)
    return str(path)


def save_model(model, path, meta=True):
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(dataset_meta=dict(classes=list(DEMO_CLASSES))) if meta
                         else {}), str(path))
    return str(path)


@pytest.fixture(scope='module')
def exports(workdir):
    """``export(name)``: a random-weight demo model, its checkpoint and its
    ONNX and OpenVINO exports by the CLI (with the thresholds file), made
    once per config."""
    done = {}

    def export(name):
        if name not in done:
            config = write_config(workdir, name)
            torch.manual_seed(0)
            model = MODELS.build(Config.fromfile(config).model).eval()
            stem = osp.splitext(osp.basename(config))[0]
            ckpt = save_model(model, workdir / f'{stem}.pth')
            args = [config, ckpt, '--thresholds', str(workdir / 'thresholds.json')]
            done[name] = dict(config=config, model=model, ckpt=ckpt,
                              onnx=export_tool.main(args + ['--format', 'onnx']))
            if HAS_OPENVINO:
                done[name]['xml'] = export_tool.main(args + ['--format', 'openvino'])
            assert done[name]['onnx'] == osp.join(str(workdir), f'{stem}.onnx')
        return done[name]

    return export


@pytest.fixture(scope='module', params=CONFIGS, ids=lambda c: c.split('_')[1])
def exported(request, exports):
    return exports(request.param)


def torch_scores(model, x):
    with torch.no_grad():
        return torch.stack([d.pred_score for d in model(x, mode='predict')]).numpy()


@pytest.mark.slow
@pytest.mark.parametrize('runtime,atol', [
    ('onnx', 1e-4), pytest.param('xml', 1e-3, marks=requires_openvino)])
def test_exported_scores_match_pytorch_at_any_batch_size(exported, runtime, atol):
    model = load_exported(exported[runtime])
    torch.manual_seed(1)
    for batch in (1, 3):
        x = torch.randn(batch, 3, SIZE, SIZE)
        want = torch_scores(exported['model'], x)
        got = model(x.numpy())
        assert got.shape == (batch, len(DEMO_CLASSES))
        np.testing.assert_allclose(got, want, rtol=0, atol=atol)
    with pytest.raises(ValueError, match=r'takes \[B, 3, 64, 64\] images.*--input-size'):
        model(np.zeros((1, 3, 32, 32), np.float32))


@pytest.mark.slow
@pytest.mark.parametrize('runtime', ['onnx', pytest.param('xml', marks=requires_openvino)])
def test_metadata_round_trips(exported, runtime):
    meta = load_exported(exported[runtime]).metadata
    assert meta == dict(classes=list(DEMO_CLASSES),
                        thresholds=[THRESHOLDS[c] for c in DEMO_CLASSES],
                        input_size=[SIZE, SIZE], mean=[123.675, 116.28, 103.53],
                        std=[58.395, 57.12, 57.375], channel_order='RGB')
    if runtime == 'onnx':  # the batch is the only dynamic axis
        graph = onnx.load(exported['onnx']).graph
        dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
                for v in (graph.input[0], graph.output[0])]
        assert dims == [['batch', 3, SIZE, SIZE], ['batch', len(DEMO_CLASSES)]]


def test_default_thresholds_and_input_size_come_from_the_config(workdir):
    cfg = Config.fromfile(write_config(workdir, CONFIGS[0]))
    assert resolve_thresholds(None, cfg, DEMO_CLASSES) == 0.5
    cfg.model.head.thr = [0.25] * len(DEMO_CLASSES)
    assert resolve_thresholds(None, cfg, DEMO_CLASSES) == [0.25] * len(DEMO_CLASSES)
    assert config_input_size(cfg) == (SIZE, SIZE)
    paper = Config.fromfile(osp.join(ROOT, 'configs', 'effv2s_mld_aam_coco.py'))
    assert config_input_size(paper) == (448, 448)  # Resize(scale=(448, 448))


@pytest.mark.slow
def test_gat_branch_is_folded_into_constants_and_runs_without_dgl(exports, workdir, tmp_path):
    gat = exports(GAT)
    graph = onnx.load(gat['onnx']).graph
    assert {n.domain for n in graph.node} <= {'', 'ai.onnx'}  # standard operators only
    # the neck is w * f with the channel weights w a constant: no graph layer
    neck = [n for n in graph.node if n.name.startswith('/neck/')]
    assert [n.op_type for n in neck] == ['Constant', 'Mul'], [n.name for n in neck]
    w = onnx.numpy_helper.to_array(neck[0].attribute[0].t)
    # the exporter's trace recomputes the weights: equal up to float32 rounding
    np.testing.assert_allclose(w.reshape(-1), gat['model'].neck.channel_weights().numpy(),
                               rtol=1e-6)

    x = torch.randn(3, 3, SIZE, SIZE)
    np.save(tmp_path / 'x.npy', x.numpy())
    np.save(tmp_path / 'want.npy', torch_scores(gat['model'], x))
    (tmp_path / 'dgl.py').write_text('raise ImportError("DGL is not installed here")\n')
    models = [gat['onnx']] + ([gat['xml']] if HAS_OPENVINO else [])
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        try:
            import dgl
        except ImportError:
            pass
        else:
            raise SystemExit('dgl imported')
        from mmpretrain_multilabel.deployment import load_exported
        x, want = np.load({str(tmp_path / 'x.npy')!r}), np.load({str(tmp_path / 'want.npy')!r})
        for path in {models!r}:
            np.testing.assert_allclose(load_exported(path)(x), want, rtol=0, atol=1e-3)
        import runpy
        infer = runpy.run_path('tools/infer.py', run_name='infer')
        out = infer['main']([{gat['config']!r}, {gat['onnx']!r}, {str(workdir / 'data' / 'val')!r},
                          '--out-dir', {str(tmp_path / 'out')!r}, '--no-progress'])
        assert 'dgl' not in sys.modules or sys.modules['dgl'] is None
        print('RAN', len(out['paths']))
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), ROOT, os.environ.get('PYTHONPATH', '')]))
    res = subprocess.run([sys.executable, '-c', code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    assert 'RAN 5' in res.stdout


def read_outputs(out_dir):
    saved = json.loads((out_dir / 'predictions.json').read_text())
    rows = list(csv.reader(open(out_dir / 'predictions.csv')))
    return saved, rows


@pytest.mark.slow
def test_infer_from_exported_models_writes_the_checkpoints_outputs(exports, workdir,
                                                                   tmp_path):
    demo = exports(GAT)
    images = str(workdir / 'data' / 'val')
    thr = str(workdir / 'thresholds.json')
    runs = {}
    for name in ['ckpt', 'onnx'] + (['xml'] if HAS_OPENVINO else []):
        out_dir = tmp_path / name
        # the exported models default to their stored thresholds: the file's
        args = [] if name != 'ckpt' else ['--thresholds', thr]
        infer.main([demo['config'], demo[name], images, '--out-dir', str(out_dir),
                    '--batch-size', '2', '--no-progress'] + args)
        runs[name] = read_outputs(out_dir)
    want, want_rows = runs.pop('ckpt')
    assert want['thresholds'] == [THRESHOLDS[c] for c in DEMO_CLASSES]
    assert any(p['labels'] for p in want['predictions'])
    for got, rows in runs.values():
        assert got['classes'] == want['classes'] and got['thresholds'] == want['thresholds']
        assert len(got['predictions']) == len(want['predictions']) == 5
        for g, w in zip(got['predictions'], want['predictions']):
            assert g['image'] == w['image'] and g['labels'] == w['labels']
            np.testing.assert_allclose(list(g['scores'].values()), list(w['scores'].values()),
                                       rtol=0, atol=1e-3)
        assert len(rows) == len(want_rows) and rows[0] == want_rows[0]
        for r, w in zip(rows[1:], want_rows[1:]):
            assert r[:2] == w[:2]
            np.testing.assert_allclose(np.float64(r[2:]), np.float64(w[2:]), atol=1e-3)


def test_export_errors(workdir, tmp_path, capsys, monkeypatch):
    config = write_config(workdir, CONFIGS[3])
    with pytest.raises(SystemExit):
        export_tool.main([config, 'x.pth', '--format', 'tflite'])
    assert "invalid choice: 'tflite'" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match='checkpoint not found: missing.pth'):
        export_tool.main([config, 'missing.pth', '--format', 'onnx'])
    model = MODELS.build(Config.fromfile(config).model)
    bare = save_model(model, tmp_path / 'bare.pth', meta=False)
    with pytest.raises(ValueError, match=r"no class names \(meta\['dataset_meta'\]"):
        export_tool.main([config, bare, '--format', 'onnx'])
    ckpt = save_model(model, tmp_path / 'ok.pth')
    with pytest.raises(ValueError, match='must be written to a .xml file'):
        export_tool.main([config, ckpt, '--format', 'openvino', '--out', str(tmp_path / 'a.onnx')])
    monkeypatch.setitem(sys.modules, 'openvino', None)  # `import openvino` fails
    with pytest.raises(ImportError, match=r'openvino is not installed.*\[deploy\]'):
        export_tool.main([config, ckpt, '--format', 'openvino'])
    assert not (tmp_path / 'ok.xml').exists()


def test_runtime_errors(tmp_path):
    with pytest.raises(ValueError, match='not an exported model'):
        load_exported(str(tmp_path / 'model.pth'))
    with pytest.raises(FileNotFoundError, match='exported model not found'):
        load_exported(str(tmp_path / 'missing.onnx'))
    plain = str(tmp_path / 'plain.onnx')  # exported without export.py: no metadata
    torch.onnx.export(torch.nn.Linear(4, 2), torch.zeros(1, 4), plain,
                      input_names=['input'], output_names=['scores'], **onnx_export_kwargs())
    with pytest.raises(ValueError, match='no classes, thresholds.*tools/deployment/export.py'):
        load_exported(plain)
