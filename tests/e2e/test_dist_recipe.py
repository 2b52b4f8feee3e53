"""Distributed recipe: per-process batch x processes, ``--auto-scale-lr`` (tools/train.py,
tools/train_stages.py), ``--amp`` / ``--launcher`` of tools/train_stages.py,
tools/dist_train_stages.sh.

Tiny student (MiT-T) on 64x80 synthetic RGB-T frames, 2 iterations per run.
"""

import glob
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from e2e_helpers import ROOT, STUDENT_CFG, run_tool, tool_env, write_tiny_config

sys.path.insert(0, osp.join(ROOT, 'tools'))

AMP_WRAPPER = 'AmpOptimWrapper' if torch.cuda.is_available() else 'CPUBF16OptimWrapper'
GKD_RECIPE = osp.join(
    ROOT, 'configs/distill/gkd/gkd_segformer_mit-t_600it_synthetic-rgbt-128x160.py'
)


def _cfg(batch, base=8, enable=False):
    return Config(
        dict(
            train_dataloader=dict(batch_size=batch),
            auto_scale_lr=dict(enable=enable, base_batch_size=base),
        )
    )


def test_batch_summary_line():
    from crossmodal.utils.runner_setup import batch_summary

    msg, warn = batch_summary(_cfg(8), 4)
    assert warn
    assert 'Batch: 8 per process x 4 processes = global batch 32' in msg
    assert (
        'global batch 32 = 4 x 8; the recipe was written for 8; pass --auto-scale-lr or lower '
        'train_dataloader.batch_size'
    ) in msg
    msg, warn = batch_summary(_cfg(8, enable=True), 4)
    assert not warn and 'LR scaled by 32/8 = 4 (auto_scale_lr on)' in msg
    msg, warn = batch_summary(_cfg(8), 1)
    assert (
        not warn
        and 'global batch 8; LR not scaled (auto_scale_lr off; recipe written for 8)' in msg
    )
    msg, warn = batch_summary(_cfg(2), 4)  # 4 x 2 = the recipe's 8: nothing to warn about
    assert not warn
    msg, warn = batch_summary(Config(dict(train_dataloader=dict(batch_size=2))), 2)
    assert warn and 'no auto_scale_lr.base_batch_size' in msg


def test_real_schedules_declare_their_recipe_batch():
    for name in ('schedule_40k', 'schedule_80k', 'schedule_tiny'):
        cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/schedules', name + '.py'))
        assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=8), name


def test_auto_scale_lr_needs_a_base_batch_size():
    from crossmodal.utils.runner_setup import enable_auto_scale_lr

    cfg = Config(dict(train_dataloader=dict(batch_size=2)))
    with pytest.raises(ValueError, match='auto_scale_lr.base_batch_size'):
        enable_auto_scale_lr(cfg)
    cfg = _cfg(2, base=4)
    enable_auto_scale_lr(cfg)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=4)


def _first_lr(work_dir):
    scalars = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))[-1]
    rows = [json.loads(line) for line in open(scalars) if line.strip()]
    return [r for r in rows if 'lr' in r][0]['lr']


def test_train_auto_scale_lr_scales_the_lr(tmp_path, tiny_rgbt):
    cfg = write_tiny_config(
        tmp_path / 'student.py', STUDENT_CFG, tiny_rgbt, max_iters=2, ckpt_interval=2, student=True
    )
    base_lr = Config.fromfile(cfg).optim_wrapper.optimizer.lr
    wd = tmp_path / 'wd'
    proc = run_tool(
        'tools/train.py',
        cfg,
        '--work-dir',
        str(wd),
        '--auto-scale-lr',
        '--cfg-options',
        'train_dataloader.batch_size=1',
        'auto_scale_lr.base_batch_size=2',
    )
    log = proc.stdout + proc.stderr
    assert 'Batch: 1 per process x 1 process = global batch 1; LR scaled by 1/2 = 0.5' in log
    assert _first_lr(str(wd)) == pytest.approx(base_lr * 0.5, rel=1e-6)
    # the dumped config records that the LR was scaled
    assert Config.fromfile(str(wd / 'student.py')).auto_scale_lr.enable is True


def _two_stage_recipe(tmp_path, data_root):
    cfg = write_tiny_config(
        tmp_path / 'student.py', STUDENT_CFG, data_root, max_iters=2, ckpt_interval=2, student=True
    )
    recipe = tmp_path / 'recipe.py'
    recipe.write_text(
        f"stages = [dict(name='stage1', config={osp.basename(cfg)!r}),\n"
        f"          dict(name='stage2', config={osp.basename(cfg)!r}, load_from='stage1',\n"
        f"               load_mode='all')]\n"
    )
    return str(recipe)


def test_train_stages_options_reach_every_stage_config():
    """--launcher pytorch / --amp / --auto-scale-lr of tools/train_stages.py, parsed and applied to
    the embedded GKD recipe's stage configs (no process group is started)."""
    import train_stages

    args = train_stages.parse_args(
        [GKD_RECIPE, '--launcher', 'pytorch', '--amp', '--auto-scale-lr']
    )
    assert args.launcher == 'pytorch'
    recipe = Config.fromfile(GKD_RECIPE)
    for stage in recipe.stages:
        cfg = train_stages.stage_config(args, GKD_RECIPE, stage, f'/tmp/unused/{stage["name"]}')
        assert cfg.launcher == 'pytorch'
        assert cfg.optim_wrapper.type == AMP_WRAPPER
        assert cfg.auto_scale_lr.enable is True
        assert cfg.work_dir == f'/tmp/unused/{stage["name"]}'
    args = train_stages.parse_args([GKD_RECIPE])
    cfg = train_stages.stage_config(args, GKD_RECIPE, recipe.stages[0], '/tmp/unused/s1')
    assert cfg.launcher == 'none' and cfg.optim_wrapper.type == 'OptimWrapper'
    assert cfg.auto_scale_lr.enable is False


def test_train_stages_amp_launcher_none(tmp_path, tiny_rgbt):
    recipe = _two_stage_recipe(tmp_path, tiny_rgbt)
    wd = tmp_path / 'stages'
    proc = run_tool(
        'tools/train_stages.py', recipe, '--work-dir', str(wd), '--amp', '--launcher', 'none'
    )
    log = proc.stdout + proc.stderr
    assert 'Batch: 2 per process x 1 process = global batch 2' in log
    for stage in ('stage1', 'stage2'):
        dumped = Config.fromfile(
            str(wd / stage / 'student.py')
        )  # the config each stage's Runner ran
        assert dumped.optim_wrapper.type == AMP_WRAPPER, stage
        assert dumped.launcher == 'none'
        assert (wd / stage / 'iter_2.pth').exists()
    summary = json.loads((wd / 'stages_summary.json').read_text())
    assert summary['stage2']['load_from'] == summary['stage1']['checkpoint']
    assert osp.isfile(summary['stage2']['checkpoint'])


def test_dist_train_stages_two_cpu_processes(tmp_path, tiny_rgbt):
    """tools/dist_train_stages.sh: 2 gloo processes run both stages; rank 0 resolves stage 1's
    checkpoint for stage 2 and writes the one summary."""
    recipe = _two_stage_recipe(tmp_path, tiny_rgbt)
    wd = tmp_path / 'dist'
    env = tool_env()
    env['PYTHON'] = sys.executable
    env['PORT'] = str(30500 + os.getpid() % 1000)
    proc = subprocess.run(
        ['bash', 'tools/dist_train_stages.sh', recipe, '2', '--work-dir', str(wd)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-5000:]
    assert 'global batch 4 = 2 x 2; the recipe was written for 8' in log
    assert log.count('"stage2": {') == 1  # the JSON summary is printed by rank 0 only
    summary = json.loads((wd / 'stages_summary.json').read_text())
    assert summary['stage2']['load_from'] == summary['stage1']['checkpoint']
    assert (wd / 'stage2' / 'iter_2.pth').exists()
