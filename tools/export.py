#!/usr/bin/env python
r"""Export a single-modality student for deployment.

    python tools/export.py <config> <ckpt> --format onnx --out student.onnx \
        [--input-size H W | --dynamic]
    python tools/export.py <config> <ckpt> --format pth  --out student.pth
    # a distillation checkpoint: add --student-prefix student.

ONNX: writes student.onnx (raw RGB 0-255 float32 NCHW in, logits at input resolution out;
normalisation inside the graph) + student.onnx.json (classes, palette, mean/std, input size/policy).
pth: writes student.pth (stripped state_dict + dataset_meta) + student.py (plain mmseg config:
LoadImageFromFile (BGR) + bgr_to_rgb=True).
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='student config (or distillation config with --student-prefix)')
    p.add_argument('checkpoint', help='mmengine checkpoint of the student (or distiller)')
    p.add_argument('--format', choices=['onnx', 'pth'], default='onnx')
    p.add_argument('--out', required=True, help='output file (.onnx or .pth)')
    g = p.add_mutually_exclusive_group()
    g.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'),
                   help='fixed graph input size (default: data_preprocessor.size of the config)')
    g.add_argument('--dynamic', action='store_true',
                   help='dynamic batch/height/width; frames are padded to a multiple of 32')
    p.add_argument('--student-prefix', default=None,
                   help="keep only state_dict keys with this prefix, stripped (e.g. 'student.'); "
                        'teacher/connector keys are dropped')
    p.add_argument('--opset', type=int, default=None, help='ONNX opset (default 17)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from crossmodal.deploy import NotAStudentError, export_onnx, export_pth, load_student
    from crossmodal.utils.checkpoint_kind import CheckpointMismatchError
    try:
        model, cfg, model_cfg, info = load_student(args.config, args.checkpoint,
                                                   student_prefix=args.student_prefix)
    except (NotAStudentError, CheckpointMismatchError, FileNotFoundError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if args.format == 'onnx':
        kw = {} if args.opset is None else {'opset': args.opset}
        spec = export_onnx(model, info, args.out, input_size=args.input_size,
                           dynamic=args.dynamic, **kw)
        print(json.dumps({'onnx': args.out, 'sidecar': args.out + '.json',
                          'input': spec['input']['policy'], 'classes': len(spec['classes'])}))
    else:
        if args.dynamic:
            print('error: --dynamic applies to --format onnx only', file=sys.stderr)
            return 2
        ckpt, cfg_path = export_pth(model, model_cfg, info, args.out, input_size=args.input_size)
        print(json.dumps({'checkpoint': ckpt, 'config': cfg_path, 'classes': len(info.classes),
                          'dropped_key_groups': info.meta.get('dropped_key_groups', [])}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
