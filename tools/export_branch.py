#!/usr/bin/env python
"""Export the RGB (or X) stream of an RTFDNet checkpoint as a stock mmseg SegFormer.

    python tools/export_branch.py <rtfdnet config> <checkpoint> --out-dir DIR [--branch rgb|x] [--name NAME]

Writes ``DIR/<name>.py`` (plain mmseg config, no crossmodal imports needed) and ``DIR/<name>.pth``;
load them with ``mmseg.apis.init_model(cfg, ckpt)``.
"""
import argparse
import json
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402,F401
from crossmodal.models.methods.rtfdnet.export import export_branch  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Export one RTFDNet stream as a stock SegFormer')
    p.add_argument('config', help='RTFDNet config file')
    p.add_argument('checkpoint', help='RTFDNet checkpoint')
    p.add_argument('--out-dir', required=True, help='where to write <name>.py and <name>.pth')
    p.add_argument('--branch', default='rgb', help="'rgb' (default), 'x', or a modality name")
    p.add_argument('--name', help='file name stem (default segformer_<branch>_from_rtfdnet)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg_path, ckpt_path = export_branch(args.config, args.checkpoint, args.out_dir, args.branch, args.name)
    print(json.dumps(dict(config=cfg_path, checkpoint=ckpt_path)))
    return cfg_path, ckpt_path


if __name__ == '__main__':
    main()
