#!/usr/bin/env python
"""Check a config before a long GPU run: which checkpoint each backbone loads, then a few training
iterations and a validation on a generated stand-in dataset at the config's real resolution.

    python tools/check_config.py \
        configs/teachers/rgbx-sff-segformer_mit-b2_80k_nyudv2-rgbd-480x640.py
    python tools/check_config.py <config> --fake-weights --fake-teachers   # offline, random weights
    python tools/check_config.py --all --fake-weights --fake-teachers --scale 0.125

Prints a table per config (``--json`` prints the report as JSON) and exits 1 when a trainable
backbone did not load its pretrained weights or a loss is not finite; a crash shows the real error.
"""

import argparse
import json
import os.path as osp
import sys
import tempfile

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402,F401  (compat layer first)
from crossmodal.utils.runner_setup import DictAction  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', nargs='?', help='config file (or --all)')
    p.add_argument('--all', action='store_true', help='every real-dataset config under configs/')
    p.add_argument(
        '--work-dir', help='where the stand-in data and the short runs go (default: a temp dir)'
    )
    p.add_argument(
        '--scale',
        type=float,
        default=1.0,
        help='frame/crop scale (1 = the config\'s real resolution)',
    )
    p.add_argument('--iters', type=int, default=2, help='training iterations before the validation')
    p.add_argument(
        '--fake-weights',
        action='store_true',
        help='random ImageNet-MiT stand-ins with the real names and shapes (no download)',
    )
    p.add_argument(
        '--weight-format',
        choices=['mmseg', 'nvlabs'],
        default='mmseg',
        help='key format of the --fake-weights files',
    )
    p.add_argument(
        '--fake-teachers',
        action='store_true',
        help='random trained-teacher checkpoints where distillation configs expect them',
    )
    p.add_argument('--json', action='store_true', help='print the reports as JSON')
    p.add_argument('--verbose', action='store_true', help='show the Runner\'s INFO log')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    args = p.parse_args(argv)
    if bool(args.config) == bool(args.all):
        p.error('give one config or --all')
    return args


def main(argv=None) -> int:
    from crossmodal.testing.config_check import check_config, format_report, list_real_configs

    args = parse_args(argv)
    root = osp.dirname(osp.dirname(osp.abspath(__file__)))
    configs = list_real_configs(osp.join(root, 'configs')) if args.all else [args.config]
    work = args.work_dir or tempfile.mkdtemp(prefix='check_config_')
    reports, ok = [], True
    for i, config in enumerate(configs):
        name = osp.splitext(osp.basename(config))[0]
        report = check_config(
            config,
            osp.join(work, name),
            scale=args.scale,
            iters=args.iters,
            fake_weights=args.fake_weights,
            fake_teachers=args.fake_teachers,
            weight_format=args.weight_format,
            cfg_options=args.cfg_options,
            log_level='INFO' if args.verbose else 'WARNING',
            shared_dir=work,
        )
        ok &= report['all_pretrained'] and report['losses_finite']
        reports.append(report)
        if not args.json:
            print(f'[{i + 1}/{len(configs)}] ' + format_report(report), flush=True)
    if args.json:
        print(json.dumps(reports if args.all else reports[0], indent=1, default=str))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
