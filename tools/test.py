#!/usr/bin/env python
"""Evaluate a checkpoint with the config's test dataloader and evaluator.

    python tools/test.py <config> <checkpoint> [--work-dir DIR] [--out results.json]
                         [--show-dir DIR] [--cfg-options k=v ...] [--launcher pytorch]

Prints the metrics and writes them as JSON (default ``<work_dir>/test_results.json``) together
with the parameter count and the evaluation time.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402
from crossmodal.utils.runner_setup import (add_runner_args, load_config,  # noqa: E402
                                           parse_runner_args, setup_distributed)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    p.add_argument('config', help='test config file path')
    p.add_argument('checkpoint', help='checkpoint file')
    p.add_argument('--work-dir', help='directory for logs and the results JSON')
    p.add_argument('--out', help='results JSON path (default <work_dir>/test_results.json)')
    p.add_argument('--show-dir', help='save painted predictions to this directory')
    add_runner_args(p)
    return parse_runner_args(p, argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    crossmodal.register_all_modules(init_default_scope=False)
    cfg = load_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.show_dir:
        hooks = cfg.default_hooks
        hooks.visualization.draw = True
        hooks.visualization.interval = 1
        cfg.visualizer.save_dir = args.show_dir
    setup_distributed(cfg)
    from mmengine.dist import is_main_process
    from mmengine.runner import Runner
    runner = Runner.from_cfg(cfg)
    t0 = time.perf_counter()
    metrics = runner.test()
    elapsed = time.perf_counter() - t0
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    result = dict(config=args.config, checkpoint=args.checkpoint,
                  model=type(model).__name__,
                  modalities=list(getattr(model, 'modalities', ('rgb', ))),
                  num_params=int(sum(p.numel() for p in model.parameters())),
                  test_time_s=round(elapsed, 3),
                  metrics={k: float(v) for k, v in metrics.items()})
    if is_main_process():
        out = args.out or osp.join(cfg.work_dir, 'test_results.json')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        with open(out, 'w') as f:
            json.dump(result, f, indent=2)
        print(json.dumps(result['metrics']))
        print(f'results written to {out}')
    return result


if __name__ == '__main__':
    main()
