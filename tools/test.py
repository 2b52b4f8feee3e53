#!/usr/bin/env python
"""Evaluate a checkpoint with the config's test dataloader and evaluator.

    python tools/test.py <config> <checkpoint> [--work-dir DIR] [--out results.json]
                         [--show-dir DIR] [--cfg-options k=v ...] [--launcher pytorch]
                         [--modalities rgb,thermal | --drop thermal] [--fill zero|mean|sample-mean]
                         [--fill-value thermal=100] [--robustness]
                         [--aug-test [--aug-scales 0.5,0.75,1.0,1.25,1.5,1.75] [--no-flip]]

Prints the metrics and writes them as JSON (default ``<work_dir>/test_results.json``) together
with the parameter count and the evaluation time. The file is strict JSON: a non-finite value (the
IoU of a class absent from the test set is NaN) is written as ``null``. Without ``--out`` every
scenario gets its own file, so a missing-sensor run never overwrites the full-input results:
``test_results_drop-thermal.json``, ``test_results_modalities-rgb.json`` (plus ``_fill-mean`` /
``_fill-thermal-100`` for a non-default fill and ``_aug-test`` for ``--aug-test``).

The checkpoint is loaded strictly (crossmodal/utils/checkpoint_kind.py; mmengine's ``load_from``
would load with ``strict=False`` and score a random model): missing or unexpected keys stop with an
error that says what the checkpoint looks like (a distiller's, a teacher's, RTFDNet, CroDiNo-KD, a
plain student) and which config or tool to use instead.

``--show-dir DIR`` saves one painted picture per test sample (ground truth | prediction) as
``DIR/<stem>.png``, ``<stem>`` being the file name of the sample's image without its extension.

Missing sensors (any model; crossmodal/evaluation/robustness.py): ``--modalities`` lists the
modalities that are given, ``--drop`` the ones that are missing; a missing modality is blanked in
the test pipeline (``--fill zero``, ``mean`` = dataset mean from the data preprocessor, or
``sample-mean``). ``--robustness`` evaluates full input and each modality missing and writes a
table (``<work_dir>/robustness.md`` / ``.json``, or ``--out`` without extension as the prefix).

Multi-scale + flip testing (``--aug-test``, mmseg's flag name; crossmodal/evaluation/aug_test.py):
every modality is resized jointly to each of ``--aug-scales`` (and flipped unless ``--no-flip``),
the model's own inference runs on each copy, and the softmax probabilities are averaged at the
original resolution. It wraps the model (not the pipeline), so it works for dict-input RGB-X models,
RTFDNet, distillers and stock RGB students alike, and combines with ``--drop`` / ``--robustness``.
"""

import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402
from crossmodal.evaluation.aug_test import DEFAULT_SCALES, wrap_config  # noqa: E402
from crossmodal.utils.runner_setup import (
    add_runner_args,
    load_run_config,  # noqa: E402
    parse_runner_args,
    setup_distributed,
)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    p.add_argument('config', help='test config file path')
    p.add_argument(
        'checkpoint',
        help='checkpoint file, or a training work dir (its best checkpoint, else the latest)',
    )
    p.add_argument('--work-dir', help='directory for logs and the results JSON')
    p.add_argument(
        '--out',
        help='results JSON path (default <work_dir>/test_results.json; '
        'test_results_<scenario>.json with --drop/--modalities/--aug-test)',
    )
    p.add_argument('--show-dir', help='save painted predictions to this directory as <stem>.png')
    p.add_argument(
        '--modalities',
        help='comma-separated modalities that are given; the model\'s other modalities are blanked',
    )
    p.add_argument('--drop', help='comma-separated modalities to blank (missing sensors)')
    p.add_argument(
        '--fill',
        choices=['zero', 'mean', 'sample-mean'],
        default='zero',
        help='value of a blanked modality (mean = dataset mean of the data preprocessor)',
    )
    p.add_argument(
        '--fill-value',
        nargs='+',
        metavar='NAME=V[,V]',
        help='explicit fill per modality in stored units, e.g. thermal=100',
    )
    p.add_argument(
        '--robustness',
        action='store_true',
        help='evaluate full input and each modality missing; write a robustness table',
    )
    p.add_argument(
        '--aug-test',
        action='store_true',
        help='multi-scale + flip test: average softmax probabilities over --aug-scales '
        'and horizontal flips',
    )
    p.add_argument(
        '--aug-scales',
        default=','.join(str(s) for s in DEFAULT_SCALES),
        help='comma-separated resize ratios for --aug-test (default %(default)s)',
    )
    p.add_argument('--no-flip', action='store_true', help='--aug-test without the flipped copies')
    add_runner_args(p)
    args = parse_runner_args(p, argv)
    try:
        args.aug_scales = tuple(float(s) for s in args.aug_scales.split(',') if s.strip())
    except ValueError:
        p.error(f'--aug-scales expects comma-separated numbers, got {args.aug_scales!r}')
    if not args.aug_scales or min(args.aug_scales) <= 0:
        p.error(f'--aug-scales must list positive ratios, got {args.aug_scales}')
    return args


def results_name(args, dropped) -> str:
    """``test_results.json`` for the full input, ``test_results_<scenario>.json`` otherwise."""
    parts = []
    if args.modalities:
        parts.append('modalities-' + '+'.join(m.strip() for m in args.modalities.split(',')))
    if args.drop:
        parts.append('drop-' + '+'.join(m.strip() for m in args.drop.split(',')))
    if dropped and args.fill != 'zero':
        parts.append(f'fill-{args.fill}')
    for item in (args.fill_value or ()) if dropped else ():
        parts.append('fill-' + ''.join(c if c.isalnum() or c in '.-' else '-' for c in item))
    if args.aug_test:
        parts.append('aug-test')
    return 'test_results' + ''.join('_' + p for p in parts) + '.json'


def main(argv=None):
    args = parse_args(argv)
    from crossmodal.utils.checkpoint_paths import resolve_trained_checkpoint

    args.checkpoint = resolve_trained_checkpoint(args.checkpoint, 'tools/test.py')
    crossmodal.register_all_modules(init_default_scope=False)
    cfg = load_run_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    cfg.load_from = args.checkpoint  # loaded strictly by build_runner_and_load, not by mmengine
    cfg.resume = False
    aug = dict(scales=list(args.aug_scales), flip=not args.no_flip) if args.aug_test else None
    if aug:
        cfg.model = wrap_config(cfg.model, **aug)
    if args.show_dir:
        # <show_dir>/<stem>.png (mmseg's hook would write vis_image/test_<stem>.png_0.png)
        cfg.default_hooks.visualization = dict(
            type='StemSegVisualizationHook', draw=True, interval=1, out_dir=args.show_dir
        )
    setup_distributed(cfg)
    from mmengine.dist import is_main_process
    from crossmodal.evaluation import robustness
    from crossmodal.evaluation.strict_json import dump_strict_json, to_strict_json

    fill_value = robustness.parse_fill_values(args.fill_value)
    if args.robustness:
        prefix = osp.splitext(args.out)[0] if args.out else None
        rob = robustness.run_robustness(
            cfg, args.fill, fill_value, out_prefix=prefix, write=is_main_process()
        )
        if is_main_process():
            print(rob['table'])
            print(f"robustness table written to {', '.join(rob['written'])}")
        return rob
    mods = args.modalities.split(',') if args.modalities else None
    dropped = robustness.resolve_drop(cfg, mods, args.drop.split(',') if args.drop else None)
    robustness.insert_blanking(cfg, dropped, args.fill, fill_value)
    from crossmodal.utils.checkpoint_kind import build_runner_and_load

    runner, _ = build_runner_and_load(cfg, args.checkpoint, args.config)
    t0 = time.perf_counter()
    metrics = runner.test()
    elapsed = time.perf_counter() - t0
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    result = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        model=type(model).__name__,
        modalities=list(getattr(model, 'modalities', ('rgb',))),
        dropped_modalities=dropped,
        fill=args.fill if dropped else None,
        num_params=int(sum(p.numel() for p in model.parameters())),
        aug_test=aug,
        test_time_s=round(elapsed, 3),
        metrics={k: float(v) for k, v in metrics.items()},
    )
    if is_main_process():
        out = args.out or osp.join(cfg.work_dir, results_name(args, dropped))
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        dump_strict_json(result, out)  # NaN (e.g. IoU of a class absent from the test set) -> null
        print(json.dumps(to_strict_json(result['metrics'])))
        print(f'results written to {out}')
    return result


if __name__ == '__main__':
    from crossmodal.utils.checkpoint_kind import CheckpointMismatchError

    try:
        main()
    except CheckpointMismatchError as e:  # wrong config/checkpoint pairing: no traceback, exit 2
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
