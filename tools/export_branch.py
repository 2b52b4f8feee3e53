#!/usr/bin/env python
"""Deprecated alias of ``tools/export.py <config> <ckpt> --part rgb|x|depth --format pth``.

    python tools/export_branch.py <config> <checkpoint> --out-dir DIR [--branch B] [--name NAME]
        [--input-scale S]

RTFDNet: ``--branch rgb|x`` (or a modality name); CroDiNo-KD: ``--branch rgb|depth``. Writes
``DIR/<name>.py`` + ``DIR/<name>.pth`` (default ``segformer_<branch>_from_<method>``).
"""

import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Deprecated: use tools/export.py --part B --format pth')
    p.add_argument('config', help='RTFDNet or CroDiNoKD config file')
    p.add_argument('checkpoint', help='checkpoint of that config')
    p.add_argument('--out-dir', required=True, help='where to write <name>.py and <name>.pth')
    p.add_argument(
        '--branch',
        default='rgb',
        help="RTFDNet: 'rgb' (default), 'x' or a modality name; CroDiNo-KD: 'rgb' or 'depth'",
    )
    p.add_argument('--name', help='file name stem (default segformer_<branch>_from_<method>)')
    p.add_argument(
        '--input-scale',
        type=float,
        default=None,
        help='1-channel models: stored value x scale = training unit '
        '(default: the dataset meta.json "scale")',
    )
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    print(
        'tools/export_branch.py is deprecated: use tools/export.py <config> <ckpt> '
        '--part <branch> --format pth --out-dir DIR',
        file=sys.stderr,
    )
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    from crossmodal.deploy.parts import select_part
    from crossmodal.deploy.pth_export import export_part_pth
    from crossmodal.deploy.student import load_config

    cfg = load_config(args.config)
    part = select_part(cfg, args.branch)
    stem = osp.join(args.out_dir, args.name or part.file_stem)
    scale = 'auto' if args.input_scale is None else args.input_scale
    as_stored = 'as_stored' if cfg.model.get('type') == 'RTFDNet' else None  # as before
    export_part_pth(
        cfg,
        args.checkpoint,
        args.branch,
        stem + '.pth',
        stem + '.py',
        input_scale=scale,
        dataset_meta=as_stored,
    )
    print(json.dumps(dict(config=stem + '.py', checkpoint=stem + '.pth')))
    return stem + '.py', stem + '.pth'


if __name__ == '__main__':
    main()
