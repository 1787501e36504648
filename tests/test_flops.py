"""The FLOPs tool agrees with MMEngine's analyzer figures of docs/flops.md:
EfficientNetV2-s 11.49 G at 448 and 19.00 G at 576; the ML-Decoder head
+0.795 G (K=80, 448), +0.517 G (K=20, 448), +1.185 G (K=500, 576); the GAT
branch adds nothing at inference."""
import os.path as osp

import pytest

import mmpretrain_multilabel  # noqa: F401

from .scripts import load_script

pytestmark = pytest.mark.slow  # FLOPs of full-size paper configs

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


@pytest.mark.parametrize('config,backbone_gflops,head_gflops', [
    ('configs/effv2s_mld_aam_coco.py', 11.49, 0.795),                      # K=80, 448
    ('configs/effv2s/effv2s_mld-aam_2xb42_voc07-448px.py', 11.49, 0.517),  # K=20, 448
    ('configs/effv2s/effv2s_mld-aam_2xb42_vg500-576px.py', 19.00, 1.185),  # K=500, 576
])
def test_backbone_and_ml_decoder_head_flops_from_the_tool(config, backbone_gflops, head_gflops):
    get_flops = load_script('tools/analysis_tools/get_flops.py')
    shape, counts, paper = get_flops.count_config(osp.join(ROOT, config))
    assert shape == (paper['shape'],) * 2
    assert counts['backbone'][0] / 1e9 == pytest.approx(backbone_gflops, rel=0.02)
    assert counts['head'][0] / 1e9 == pytest.approx(head_gflops, rel=0.02)
    assert counts['total'][0] == pytest.approx(counts['backbone'][0] + counts['head'][0])


def test_gat_branch_adds_nothing_at_inference(capsys):
    get_flops = load_script('tools/analysis_tools/get_flops.py')
    config = osp.join(ROOT, 'configs/effv2s/effv2s_gat-mld-aam_2xb42_voc07-448px.py')
    get_flops.main([config, osp.join(ROOT, 'configs/effv2s/effv2s_mld-aam_2xb42_voc07-448px.py'),
                    '--random-graph', '--compare-paper', '--shape', '224'])
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith('| effv2s')]
    totals = [float(r.split('|')[6]) for r in rows]
    assert len(totals) == 2 and totals[0] == pytest.approx(totals[1], abs=1e-3)
