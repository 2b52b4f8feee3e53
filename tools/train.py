#!/usr/bin/env python
"""Train a crossmodal (or plain mmseg) model from a config with MMEngine's Runner.

    python tools/train.py configs/teachers/<cfg>.py [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options k=v ...] [--launcher pytorch]
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402  (compat layer first)
from crossmodal.utils.runner_setup import (add_runner_args, enable_amp, load_config,  # noqa: E402
                                           parse_runner_args, setup_distributed)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Train a segmentor')
    p.add_argument('config', help='train config file path')
    p.add_argument('--work-dir', help='the dir to save logs and models')
    p.add_argument('--resume', nargs='?', type=str, const='auto',
                   help='resume from CKPT, or from the latest checkpoint in the work dir when '
                   'no path is given')
    p.add_argument('--amp', action='store_true', help='mixed precision (fp16 on CUDA, bf16 on CPU)')
    add_runner_args(p)
    return parse_runner_args(p, argv)


def main(argv=None):
    args = parse_args(argv)
    crossmodal.register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.amp:
        enable_amp(cfg)
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    setup_distributed(cfg)
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
