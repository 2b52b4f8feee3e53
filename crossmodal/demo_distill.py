"""Distillation row of the demo table: train the RGB student with the tiny distillation config.

``run_distill_demo(work_dir, teacher_ckpt, seed)`` trains
``configs/distill/cwd/cwd_segformer_mit-t_600it_synthetic-rgbt-128x160.py`` (CWD on logits + CWD on
the fused stage-4 feature; plain Hinton KD, ``KD_CONFIG``, left the student as collapsed
as its twin in our runs: 22.69 mIoU for seeds 0 and 1, vs 32.26 / 30.71 with CWD) on ``data/synthetic_rgbt``
with the same iterations, schedule and seed as the plain student
(``configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py``): the student's initial
weights are identical (the distiller builds its student first and its teachers under a forked RNG),
so the two rows differ only by the distillation loss. Returns the student's test mIoU (val loop at
the last iteration), its parameter count and the wall time.
"""
from __future__ import annotations

import os
import os.path as osp
import time
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
KD_CONFIG = osp.join(ROOT, 'configs', 'distill', 'kd',
                     'kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py')
DEMO_CONFIG = osp.join(ROOT, 'configs', 'distill', 'cwd',
                       'cwd_segformer_mit-t_600it_synthetic-rgbt-128x160.py')


def run_distill_demo(work_dir: str, teacher_ckpt: str, seed: int = 0,
                     config: str = DEMO_CONFIG, data_root: Optional[str] = None,
                     max_iters: Optional[int] = None) -> dict:
    """Train the distilled student; returns ``dict(mIoU=..., params=..., time_s=..., ...)``.

    Args:
        work_dir: output directory (logs, checkpoint).
        teacher_ckpt: the RGB-T teacher checkpoint (e.g. ``work_dirs/demo/teacher/iter_600.pth``).
        seed: ``randomness.seed`` (use the plain student's seed).
        config: the distillation config (default: ``DEMO_CONFIG``, the tiny CWD config).
        data_root: dataset root (default: the config's, ``data/synthetic_rgbt``).
        max_iters: override the schedule length (default: the config's 600).
    """
    import crossmodal
    from crossmodal.utils.runner_setup import load_config
    if not osp.isfile(teacher_ckpt):
        raise FileNotFoundError(f'teacher checkpoint not found: {teacher_ckpt} (train the teacher '
                                f'first: tools/train.py configs/teachers/...)')
    crossmodal.register_all_modules(init_default_scope=False)
    options = {'model.teachers.rgbt.checkpoint': teacher_ckpt, 'randomness.seed': seed}
    if data_root is not None:
        for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            options[f'{dl}.dataset.data_root'] = data_root
    cfg = load_config(config, options, work_dir)
    if max_iters is not None:
        cfg.train_cfg.max_iters = max_iters
        cfg.train_cfg.val_interval = max_iters
        cfg.default_hooks.checkpoint.interval = max_iters
        for s in cfg.param_scheduler:
            if s.get('end', 0) > max_iters:
                s['end'] = max_iters
    os.makedirs(work_dir, exist_ok=True)
    from mmengine.runner import Runner
    t0 = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    elapsed = time.perf_counter() - t0
    scalars = runner.message_hub.log_scalars
    if 'val/mIoU' in scalars:
        miou = float(scalars['val/mIoU'].current())
    else:
        miou = float(runner.val()['mIoU'])
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    teacher_miou = scalars['teacher.rgbt.mIoU'].current() if 'teacher.rgbt.mIoU' in scalars else None
    return dict(mIoU=miou, params=int(sum(p.numel() for p in model.student.parameters())),
                time_s=round(elapsed, 1), seed=seed, config=config,
                teacher_mIoU=float(teacher_miou) if teacher_miou is not None else None,
                checkpoint=osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth'))
