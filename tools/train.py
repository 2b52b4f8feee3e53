#!/usr/bin/env python
"""Train a crossmodal (or plain mmseg) model from a config with MMEngine's Runner.

    python tools/train.py configs/teachers/<cfg>.py [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]

``train_dataloader.batch_size`` is per process: ``tools/dist_train.sh <cfg> N`` trains with N times
that batch. ``--auto-scale-lr`` scales the learning rate by global batch /
``auto_scale_lr.base_batch_size`` (mmengine's Runner does the scaling); the run logs one line with
the per-process batch, world size, global batch and whether the LR is scaled.

``--resume`` without a path continues from the checkpoint named by ``<work_dir>/last_checkpoint``
if it loads, otherwise from the newest complete ``iter_<n>.pth`` (logged; never a ``*.tmp`` left by
an interrupted save). Resuming a run that already reached ``train_cfg.max_iters`` says so and exits
0 without training; ``--cfg-options train_cfg.max_iters=<more>`` continues it. Every config gets
``FiniteLossHook`` and ``SafeCheckpointHook`` (crossmodal/engine, via
``runner_setup.install_reliability_hooks``).
"""

import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402  (compat layer first)
from crossmodal.utils.runner_setup import (
    add_train_args,
    apply_train_args,  # noqa: E402
    load_run_config,
    log_batch_summary,
    parse_runner_args,
    setup_distributed,
)
from crossmodal.engine.safe_checkpoint import (
    find_resume_checkpoint,  # noqa: E402
    finished_run_message,
)
from mmengine.logging import print_log  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a segmentor')
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='the dir to save logs and models')
    p.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from CKPT, or from the latest checkpoint in the work dir when '
        'no path is given',
    )
    add_train_args(p)  # --amp, --auto-scale-lr, --cfg-options, --launcher
    return parse_runner_args(p, argv)


def main(argv=None):
    args = parse_args(argv)
    crossmodal.register_all_modules(init_default_scope=False)
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    apply_train_args(cfg, args)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = find_resume_checkpoint(cfg.work_dir)  # None: nothing there, from scratch
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    if cfg.resume and cfg.load_from:
        done = finished_run_message(cfg.load_from, cfg.get('train_cfg'))
        if done:
            print_log(done, logger='current')
            return None
    setup_distributed(cfg)
    from mmengine.runner import Runner

    runner = Runner.from_cfg(cfg)
    log_batch_summary(runner.cfg, runner.world_size)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
