"""The demo's library part (``tools/demo.py``): its distillation row, train the RGB student with
distillation.

``run_distill_demo(work_dir, teacher_ckpt, seed, iters, variant)`` trains
``configs/distill/cwd/cwd_segformer_mit-t_600it_synthetic-<variant>-128x160.py`` (CWD on logits +
CWD on the fused stage-4 feature) on ``data/synthetic_<variant>`` with the same iterations, schedule
overrides and seed as the plain student of ``tools/demo.py``
(``configs/students/segformer_mit-t_600it_synthetic-<variant>-128x160.py``). The student's initial
weights are identical (the distiller builds its student first, its teachers under a forked RNG) and
so is the data order, so the two rows differ only by the distillation losses.

Measured with the embedded dataset v2 (configs/distill/README.md): plain student 35.39 / 28.72
mIoU, CWD-distilled student 52.54 / 52.74 (seeds 0 / 1). On generator v1, plain Hinton KD
(``KD_CONFIG``) left the student as collapsed as its twin.
"""

from __future__ import annotations

import os
import os.path as osp
import time
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KD_CONFIG = osp.join(
    ROOT, 'configs', 'distill', 'kd', 'kd_segformer_mit-t_600it_synthetic-rgbt-128x160.py'
)
DEMO_CONFIG = osp.join(
    ROOT, 'configs', 'distill', 'cwd', 'cwd_segformer_mit-t_600it_synthetic-{variant}-128x160.py'
)


def schedule_options(iters: int) -> dict:
    """The schedule overrides ``tools/demo.py`` applies to the plain student (same warm-up rule,
    same logger interval: about 20 progress lines per run)."""
    warmup = min(50, max(iters // 5, 1))
    return {
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.logger.interval': max(1, min(50, iters // 20)),
        'default_hooks.checkpoint.interval': iters,
        'param_scheduler.0.end': warmup,
        'param_scheduler.1.begin': warmup,
        'param_scheduler.1.end': iters,
    }


def run_distill_demo(
    work_dir: str,
    teacher_ckpt: str,
    seed: int = 0,
    iters: Optional[int] = None,
    variant: str = 'rgbt',
    config: Optional[str] = None,
    data_root: Optional[str] = None,
    name: str = 'distilled',
) -> dict:
    """Train the distilled RGB student; returns a demo-table row.

    Args:
        work_dir: the demo's work dir; this run writes to ``<work_dir>/<name>``.
        teacher_ckpt: the teacher checkpoint (``<work_dir>/teacher/iter_600.pth`` in the demo).
        seed: ``randomness.seed`` (the plain student's).
        iters: schedule length (None: the config's 600); overridden as for the plain student.
        variant: ``'rgbt'`` or ``'rgbd'`` (selects the config and the dataset).
        config: a distillation config instead of ``DEMO_CONFIG``.
        data_root: dataset root (default ``<repo>/data/synthetic_<variant>``).
        name: row name and sub-directory.

    Returns:
        ``dict(name, modalities=['rgb'], metrics={'mIoU', 'IoU.<class>', ...}, num_params (student
        only), train_time_s, checkpoint, mIoU, params, time_s, teacher_mIoU, seed, config)``.
    """
    import crossmodal
    from crossmodal.utils.runner_setup import load_run_config

    if not osp.isfile(teacher_ckpt):
        raise FileNotFoundError(
            f'teacher checkpoint not found: {teacher_ckpt} (train the teacher '
            f'first: tools/train.py configs/teachers/...)'
        )
    if variant not in ('rgbt', 'rgbd'):
        raise ValueError(f"variant must be 'rgbt' or 'rgbd', got {variant!r}")
    config = config or DEMO_CONFIG.format(variant=variant)
    crossmodal.register_all_modules(init_default_scope=False)
    from mmengine.config import Config

    teachers = list(Config.fromfile(config).model.teachers)
    options = {f'model.teachers.{t}.checkpoint': teacher_ckpt for t in teachers}
    options['randomness.seed'] = seed
    root = data_root or osp.join(ROOT, 'data', f'synthetic_{variant}')
    for dl in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{dl}.dataset.data_root'] = root
    if iters is not None:
        options.update(schedule_options(iters))
    out_dir = osp.join(work_dir, name)
    cfg = load_run_config(config, options, out_dir)
    os.makedirs(out_dir, exist_ok=True)
    from mmengine.runner import Runner

    t0 = time.perf_counter()
    runner = Runner.from_cfg(cfg)
    runner.train()
    elapsed = time.perf_counter() - t0
    scalars = runner.message_hub.log_scalars
    metrics = {
        k[len('val/') :]: float(v.current())
        for k, v in scalars.items()
        if k.startswith('val/') and k not in ('val/time', 'val/data_time')
    }
    if 'mIoU' not in metrics:
        metrics = {k: float(v) for k, v in runner.val().items()}
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    params = int(sum(p.numel() for p in model.student.parameters()))
    t_miou = [
        float(scalars[k].current())
        for k in scalars
        if k.startswith('teacher.') and k.endswith('.mIoU')
    ]
    ckpt = osp.join(out_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    return dict(
        name=name,
        modalities=list(model.student_modalities),
        metrics=metrics,
        num_params=params,
        train_time_s=round(elapsed, 1),
        checkpoint=ckpt,
        mIoU=metrics['mIoU'],
        params=params,
        time_s=round(elapsed, 1),
        teacher_mIoU=t_miou[0] if t_miou else None,
        seed=seed,
        config=config,
    )
