#!/usr/bin/env python
r"""Export one part of a trained model as a plain mmseg model (pth) or an ONNX graph.

    python tools/export.py <config> <ckpt> [--part P] --format pth|onnx (--out FILE | --out-dir D)
        [--name STEM] [--input-size H W | --dynamic] [--input-scale S] [--student-prefix student.]
        [--alpha A]

Parts (``--part``; default first): a distill config: ``student``; RTFDNet: ``rgb``, ``x`` (or a
modality name); CroDiNo-KD: ``rgb``, ``depth``; a plain student config: ``student`` (itself).

pth: <stem>.pth (the part's weights + dataset_meta) + <stem>.py (plain mmseg config:
LoadImageFromFile; 3 channels: bgr_to_rgb as the network needs; 1 channel: the file read unchanged,
mean/std in the stored unit when the dataset's scale is known). Loads with mmseg's init_model.
ONNX (RGB parts): <stem>.onnx (raw RGB 0-255 float32 NCHW in, logits at input resolution out;
normalisation inside the graph) + <stem>.onnx.json (classes, palette, mean/std, input size/policy).
--student-prefix P: the student with its weights under P (a distill config, or the student's own
config with a distillation checkpoint); teacher/connector keys are dropped.
DHO students (decode head ``DualHeadSegformerHead``) are written as a stock ``SegformerHead``: the
label and KD classifiers folded into one (``alpha * label + (1 - alpha) * kd``) at the config's
alpha or ``--alpha`` (pick it with tools/select_alpha.py).
"""

import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument('config', help='the config the checkpoint was trained with')
    p.add_argument('checkpoint', help='mmengine checkpoint of that config')
    p.add_argument(
        '--part',
        default=None,
        help='student | rgb | x | depth (or a modality name); default: student for '
        'distillers and plain students, rgb for RTFDNet / CroDiNo-KD',
    )
    p.add_argument('--format', choices=['onnx', 'pth'], default='onnx')
    o = p.add_mutually_exclusive_group(required=True)
    o.add_argument('--out', help='output file (.onnx or .pth)')
    o.add_argument('--out-dir', help='output folder (files <stem>.onnx/.pth, see --name)')
    p.add_argument(
        '--name',
        default=None,
        help='file stem with --out-dir (default: per part, '
        'e.g. student, segformer_rgb_from_rtfdnet)',
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='ONNX: fixed graph input size (default: data_preprocessor.size); '
        'pth: the test pipeline resizes to it',
    )
    g.add_argument(
        '--dynamic',
        action='store_true',
        help='ONNX: dynamic batch/height/width; frames are padded to a multiple of 32',
    )
    p.add_argument(
        '--input-scale',
        type=float,
        default=None,
        help='1-channel parts (pth): stored value x scale = training unit (e.g. 0.001 '
        'for depth PNGs in mm); default: the dataset meta.json "scale"',
    )
    p.add_argument(
        '--student-prefix',
        default=None,
        help="keep only state_dict keys with this prefix, stripped (e.g. 'student.'); "
        'teacher/connector keys are dropped',
    )
    p.add_argument('--opset', type=int, default=None, help='ONNX opset (default 17)')
    p.add_argument(
        '--alpha',
        type=float,
        default=None,
        help='DHO students (DualHeadSegformerHead): the label-head weight folded into the '
        'exported classifier, in [0, 1] (default: the config\'s decode_head.alpha)',
    )
    return p.parse_args(argv)


def export(args) -> dict:
    """Run the export described by parsed ``args``; returns the JSON summary."""
    from crossmodal.deploy import export_onnx, load_part
    from crossmodal.deploy.parts import ExportError
    from crossmodal.deploy.pth_export import write_loaded_part

    if args.format == 'pth' and args.dynamic:
        raise ExportError('--dynamic applies to --format onnx only')
    model, cfg, part, info = load_part(
        args.config, args.checkpoint, args.part, args.student_prefix, head_alpha=args.alpha
    )
    out = args.out or os.path.join(args.out_dir, f'{args.name or part.file_stem}.{args.format}')
    if args.format == 'onnx':
        if part.in_channels != 3 or part.modality not in ('rgb', 'image'):
            raise ExportError(
                f'part {part.name!r} reads {part.modality!r} ({part.in_channels} '
                f'channels): ONNX export (crossmodal_runtime) takes RGB parts; '
                f'export it with --format pth'
            )
        kw = {} if args.opset is None else {'opset': args.opset}
        spec = export_onnx(model, info, out, input_size=args.input_size, dynamic=args.dynamic, **kw)
        res = {
            'onnx': out,
            'sidecar': out + '.json',
            'part': part.name,
            'input': spec['input']['policy'],
            'classes': len(spec['classes']),
        }
        return _with_fold(res, info)
    if not out.endswith('.pth'):
        raise ExportError(f'--out must end with .pth for --format pth, got {out}')
    scale = 'auto' if args.input_scale is None else args.input_scale
    res = write_loaded_part(
        model, cfg, part, info, out, os.path.splitext(out)[0] + '.py', scale, args.input_size
    )
    return _with_fold(
        {
            'checkpoint': res['checkpoint'],
            'config': res['config'],
            'part': part.name,
            'classes': res['classes'],
            'dropped_key_groups': res['dropped_key_groups'],
            'state_dict_numel': res['state_dict_numel'],
        },
        info,
    )


def _with_fold(summary: dict, info) -> dict:
    """The summary plus ``dho_alpha`` when a DHO head was folded."""
    if 'dho_alpha' in info.meta:
        summary['dho_alpha'] = info.meta['dho_alpha']
    return summary


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        summary = export(args)
    except (ValueError, FileNotFoundError) as e:  # NotAStudentError, CheckpointMismatchError,
        print(f'error: {e}', file=sys.stderr)  # ExportError
        return 2
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    sys.exit(main())
