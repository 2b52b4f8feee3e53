#!/usr/bin/env python
"""Deprecated alias of ``tools/export.py <distill config> <ckpt> --part student --format pth``.

    python tools/export_student.py <distill_config> <distill_checkpoint> --out DIR [--name STEM]

Writes ``DIR/<stem>.pth`` and ``DIR/<stem>_config.py`` (plain mmseg; ``init_model`` loads them) and
prints a JSON summary.
"""

import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description='Deprecated: use tools/export.py --part student --format pth'
    )
    p.add_argument('config', help='distillation config')
    p.add_argument('checkpoint', help='distillation checkpoint')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--name', default='student', help='file stem (default: student)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(
        'tools/export_student.py is deprecated: use tools/export.py <config> <ckpt> '
        '--part student --format pth --out-dir DIR',
        file=sys.stderr,
    )
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
    from crossmodal.deploy.pth_export import export_part_pth

    info = export_part_pth(
        args.config,
        args.checkpoint,
        'student',
        osp.join(args.out, f'{args.name}.pth'),
        osp.join(args.out, f'{args.name}_config.py'),
    )
    print(json.dumps(info, indent=2))
    return info


if __name__ == '__main__':
    main()
