#!/usr/bin/env python
"""Export the student of a distillation run as a plain mmseg checkpoint + config.

    python tools/export_student.py <distill_config> <distill_checkpoint> --out DIR

Writes ``DIR/student.pth`` and ``DIR/student_config.py``; load them with
``import crossmodal; from mmseg.apis import init_model; init_model(cfg, ckpt, device='cpu')``
(crossmodal only for the compat layer). Teachers, connectors and distillation losses are dropped.
Prints a JSON summary.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402,F401  (compat layer, registries)
from crossmodal.models.distill.export import export_student  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export the student of a DistillSegmentor checkpoint')
    p.add_argument('config', help='distillation config')
    p.add_argument('checkpoint', help='distillation checkpoint')
    p.add_argument('--out', required=True, help='output directory')
    p.add_argument('--name', default='student', help='file stem (default: student)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    for path, what in ((args.config, 'config'), (args.checkpoint, 'checkpoint')):
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what} not found: {path}')
    info = export_student(args.config, args.checkpoint, osp.join(args.out, f'{args.name}.pth'),
                          osp.join(args.out, f'{args.name}_config.py'))
    print(json.dumps(info, indent=2))
    return info


if __name__ == '__main__':
    main()
