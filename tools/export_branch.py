#!/usr/bin/env python
"""Export one model of a multi-model run as a stock mmseg SegFormer.

    python tools/export_branch.py <config> <checkpoint> --out-dir DIR [--branch B] [--name NAME]

* RTFDNet configs: ``--branch rgb|x`` (or a modality name) exports that stream.
* CroDiNo-KD configs: ``--branch rgb|depth`` exports that co-trained model (the auxiliary decoder
  is dropped). ``--input-scale`` (1-channel models): stored value x scale = training unit (e.g.
  0.001 for depth PNGs in mm); default: read from the dataset's meta.json.

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
    p = argparse.ArgumentParser(description='Export one model/stream of an RTFDNet or CroDiNo-KD run '
                                            'as a stock SegFormer')
    p.add_argument('config', help='RTFDNet or CroDiNoKD config file')
    p.add_argument('checkpoint', help='checkpoint of that config')
    p.add_argument('--out-dir', required=True, help='where to write <name>.py and <name>.pth')
    p.add_argument('--branch', default='rgb',
                   help="RTFDNet: 'rgb' (default), 'x' or a modality name; CroDiNo-KD: 'rgb' or 'depth'")
    p.add_argument('--name', help='file name stem (default segformer_<branch>_from_<method>)')
    p.add_argument('--input-scale', type=float, default=None,
                   help='CroDiNo-KD 1-channel models: stored value x scale = training unit '
                        '(default: the dataset meta.json "scale")')
    return p.parse_args(argv)


def main(argv=None):
    from mmengine.config import Config
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if cfg.model.get('type') == 'CroDiNoKD':
        from crossmodal.models.methods.crodino.export import export_model
        scale = args.input_scale if args.input_scale is not None else 'auto'
        cfg_path, ckpt_path = export_model(cfg, args.checkpoint, args.out_dir, args.branch, args.name,
                                           input_scale=scale)
    else:
        cfg_path, ckpt_path = export_branch(cfg, args.checkpoint, args.out_dir, args.branch, args.name)
    print(json.dumps(dict(config=cfg_path, checkpoint=ckpt_path)))
    return cfg_path, ckpt_path


if __name__ == '__main__':
    main()
