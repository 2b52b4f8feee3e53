"""tools/test.py loads checkpoints strictly (a wrong config/checkpoint pairing is an error that says
what the checkpoint is and what to use), keeps each missing-sensor scenario's results in its own
file, and names --show-dir pictures <stem>.png. Tiny untrained models on the generated dataset."""

import json
import os
import os.path as osp
import shutil

import pytest
import torch
from tiny_models import make_tiny_models

from crossmodal.utils.checkpoint_kind import (
    CheckpointMismatchError,
    check_checkpoint_matches,
    checkpoint_kind,
    describe_checkpoint,
)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory, tiny_rgbt):
    return make_tiny_models(tmp_path_factory.mktemp('tiny_models'), tiny_rgbt)


def test_describe_checkpoint_kinds():
    z = torch.zeros(1)
    cases = {
        'distiller': (
            {'student.backbone.w': z, 'teachers.rgbt.backbones.rgb.w': z},
            ['`student.`', '`teachers.`', "['rgbt']"],
        ),
        'multimodal': (
            {'backbones.rgb.w': z, 'backbones.thermal.w': z, 'decode_head.w': z},
            ['`backbones.<modality>.`', "['rgb', 'thermal']"],
        ),
        'rtfdnet': ({'backbones.rgb.w': z, 'heads.rgb.w': z, 'decode_head.w': z}, ['`heads.']),
        'crodino': ({'models.rgb.backbone.w': z, 'models.depth.backbone.w': z}, ['`models.']),
        'student': ({'backbone.w': z, 'decode_head.w': z}, ['`backbone.`', '`decode_head.`']),
        'unknown': ({'lidar_backbone.w': z}, ["['lidar_backbone']"]),
    }
    for kind, (sd, words) in cases.items():
        assert checkpoint_kind(sd) == kind
        text = describe_checkpoint(sd)
        for w in words:
            assert w in text, (kind, text)
    assert checkpoint_kind({'module.student.x': z}) == 'distiller'  # DDP prefix ignored


def test_shape_mismatch_is_an_error():
    net = torch.nn.Sequential(torch.nn.Linear(2, 3))
    sd = {k: torch.zeros(5, *v.shape[1:]) for k, v in net.state_dict().items()}
    with pytest.raises(CheckpointMismatchError, match=r'c\.pth.*m\.py.*2 shapes differ.*\(5, 2\)'):
        check_checkpoint_matches(net, sd, 'c.pth', 'm.py', 'test')
    check_checkpoint_matches(net, net.state_dict(), 'c.pth', 'm.py', 'test')  # exact: fine


def test_student_config_with_distiller_checkpoint_is_refused(tiny, tmp_path):
    import tools.test as tt

    cfg, _ = tiny['student']
    _, dckpt = tiny['distill']
    for extra in ([], ['--robustness']):
        with pytest.raises(CheckpointMismatchError) as err:
            tt.main([cfg, dckpt, '--work-dir', str(tmp_path / 'wd'), *extra])
        msg = str(err.value)
        assert dckpt in msg and cfg in msg
        assert "distiller's checkpoint" in msg and '`student.`' in msg and '`teachers.`' in msg
        assert 'distill config' in msg and 'tools/export_student.py' in msg
        assert 'plain single-modality student' in msg  # what the config builds
    assert not (tmp_path / 'wd' / 'test_results.json').exists()
    assert not (tmp_path / 'wd' / 'robustness.json').exists()


def test_other_wrong_pairings_are_refused(tiny, tmp_path):
    import tools.test as tt

    s_cfg, s_ckpt = tiny['student']
    t_cfg, t_ckpt = tiny['teacher']
    d_cfg, _ = tiny['distill']
    with pytest.raises(
        CheckpointMismatchError,
        match=r"teacher's multimodal model.*"
        r"`backbones.<modality>.`.*teacher config",
    ):
        tt.main([s_cfg, t_ckpt, '--work-dir', str(tmp_path / 'a')])
    with pytest.raises(
        CheckpointMismatchError, match=r'plain single-modality student.*`backbone.`'
    ):
        tt.main([t_cfg, s_ckpt, '--work-dir', str(tmp_path / 'b')])
    with pytest.raises(
        CheckpointMismatchError, match=r'student config .*not with a distill config'
    ):
        tt.main([d_cfg, s_ckpt, '--work-dir', str(tmp_path / 'c')])


def test_right_pairings_still_work(tiny, tmp_path):
    import tools.test as tt

    d_cfg, d_ckpt = tiny['distill']
    work = tmp_path / 'run'  # a training work dir: tools/test.py picks its best checkpoint
    work.mkdir()
    shutil.copy(d_ckpt, work / 'best_mIoU_iter_2.pth')
    res = tt.main([d_cfg, str(work), '--work-dir', str(tmp_path / 'd')])
    assert res['checkpoint'] == str(work / 'best_mIoU_iter_2.pth')
    assert res['model'] == 'DistillSegmentor'
    s_cfg, s_ckpt = tiny['distilled_student']
    plain = tt.main([s_cfg, s_ckpt, '--work-dir', str(tmp_path / 's')])
    # the distiller predicts with its student: the same weights score the same
    assert plain['metrics']['mIoU'] == pytest.approx(res['metrics']['mIoU'], abs=1e-6)
    other = tt.main([s_cfg, tiny['student'][1], '--work-dir', str(tmp_path / 's2')])
    assert other['metrics'] != plain['metrics']  # the weights were really loaded


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_scenarios_do_not_overwrite_each_other(tiny, tmp_path):
    import tools.test as tt

    cfg, ckpt = tiny['teacher']
    wd = tmp_path / 'wd'
    base = ['--work-dir', str(wd)]
    full = tt.main([cfg, ckpt, *base])
    tt.main([cfg, ckpt, *base, '--drop', 'thermal'])
    tt.main([cfg, ckpt, *base, '--modalities', 'rgb'])
    tt.main([cfg, ckpt, *base, '--drop', 'thermal', '--fill', 'mean'])
    rob = tt.main([cfg, ckpt, *base, '--robustness'])
    names = set(os.listdir(wd))
    assert {
        'test_results.json',
        'test_results_drop-thermal.json',
        'test_results_modalities-rgb.json',
        'test_results_drop-thermal_fill-mean.json',
        'robustness.json',
        'robustness.md',
    } <= names
    saved = _load(wd / 'test_results.json')
    assert saved['dropped_modalities'] == [] and saved['metrics']['mIoU'] == full['metrics']['mIoU']
    drop = _load(wd / 'test_results_drop-thermal.json')
    assert drop['dropped_modalities'] == ['thermal'] and drop['fill'] == 'zero'
    assert _load(wd / 'test_results_drop-thermal_fill-mean.json')['fill'] == 'mean'
    assert _load(wd / 'test_results_modalities-rgb.json')['dropped_modalities'] == ['thermal']
    assert drop['metrics']['mIoU'] == pytest.approx(rob['rows'][2]['metrics']['mIoU'])
    assert _load(wd / 'robustness.json')['rows'][0]['metrics']['mIoU'] == full['metrics']['mIoU']


def test_show_dir_names_pictures_by_stem(tiny, tmp_path, tiny_rgbt):
    import cv2
    import tools.test as tt

    cfg, ckpt = tiny['student']
    show = tmp_path / 'vis'
    tt.main([cfg, ckpt, '--work-dir', str(tmp_path / 'wd'), '--show-dir', str(show)])
    with open(osp.join(tiny_rgbt, 'test.txt')) as f:
        stems = [line.strip() for line in f if line.strip()]
    assert sorted(os.listdir(show)) == sorted(f'{s}.png' for s in stems)
    img = cv2.imread(str(show / f'{stems[0]}.png'))
    assert img is not None and img.shape[0] == 64  # ground truth | prediction, 64 px high
    # --robustness: one folder per scenario, so no scenario overwrites another's pictures
    tt.main(
        [
            cfg,
            ckpt,
            '--work-dir',
            str(tmp_path / 'wr'),
            '--robustness',
            '--show-dir',
            str(tmp_path / 'rob_vis'),
        ]
    )
    assert sorted(os.listdir(tmp_path / 'rob_vis')) == ['full', 'no_rgb']
    assert sorted(os.listdir(tmp_path / 'rob_vis' / 'no_rgb')) == sorted(f'{s}.png' for s in stems)


def test_cli_exit_code_for_a_wrong_pairing(tiny, tmp_path):
    import subprocess
    import sys
    from tiny_models import ROOT

    cfg, _ = tiny['student']
    _, dckpt = tiny['distill']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    res = subprocess.run(
        [
            sys.executable,
            osp.join(ROOT, 'tools', 'test.py'),
            cfg,
            dckpt,
            '--work-dir',
            str(tmp_path / 'wd'),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert res.returncode == 2
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error: ') and "distiller's checkpoint" in last
    assert 'Traceback' not in res.stderr
    assert not (tmp_path / 'wd' / 'test_results.json').exists()
