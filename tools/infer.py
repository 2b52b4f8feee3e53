#!/usr/bin/env python
"""Run a student on an image, a folder, a video file or a camera.

    python tools/infer.py student.onnx  <input> --out <dir> [--show]
    python tools/infer.py student.pth   <input> --out <dir> --config student.py [--input-size H W]

<input>: an image file, a folder of images, a video file (.mp4/.avi/...) or a camera index (0).
Writes, per frame <stem>: <dir>/labels/<stem>.png (uint8 class ids), <dir>/overlays/<stem>.png
(palette colours over the frame) and <dir>/side_by_side/<stem>.png (input | prediction |
ground truth with --gt-dir). Prints progress (a tqdm bar if tqdm is installed, else a plain frame
counter) and a final JSON line with frames/s. With an .onnx model only numpy, OpenCV and
onnxruntime are needed: nothing from torch or mmseg is imported.

Input policy (the same as the Python API, docs/deploy.md): image files are decoded as they are
stored (colour or grey, 8 or 16 bit; the alpha channel of a PNG is not read). A grey image is
refused unless --grey-to-rgb (its value copied into R, G and B); a 16-bit image is refused (the
model takes 8-bit RGB; convert it with the sensor's range yourself). Checkpoints (.pth) load
strictly: the wrong kind (a distiller's without --student-prefix student., a teacher's, RTFDNet,
CroDiNo-KD) is an error that says what to use instead.
"""

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split('\n')[1], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument('model', help='.onnx (with .onnx.json sidecar) or a checkpoint (+ --config)')
    p.add_argument('input', help='image, folder, video file or camera index')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--config', help='student config (checkpoint models only)')
    p.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        metavar=('H', 'W'),
        help='checkpoint models: resize frames to H x W (default: pad to /32)',
    )
    p.add_argument('--student-prefix', help="distillation checkpoint: e.g. 'student.'")
    p.add_argument('--gt-dir', help='folder of ground-truth label maps <stem><gt-ext>')
    p.add_argument('--gt-ext', default='.png')
    p.add_argument(
        '--label-offset',
        type=int,
        default=0,
        help='train_id = stored + offset; <0 or stored 255 -> ignore (meta.json)',
    )
    p.add_argument('--alpha', type=float, default=0.5, help='overlay colour weight')
    p.add_argument('--max-frames', type=int, default=None, help='stop after N frames')
    p.add_argument('--show', action='store_true', help='show a window (needs a display)')
    p.add_argument(
        '--grey-to-rgb',
        action='store_true',
        help='accept 8-bit grey images by copying the grey value into R, G and B '
        '(refused without it)',
    )
    return p.parse_args(argv)


class _Counter:
    """Progress without tqdm: a frame counter on stderr (tqdm is optional: docs/deploy.md promises
    numpy + OpenCV + onnxruntime only)."""

    def __init__(self, iterable, every: int = 10):
        self.iterable, self.every, self.n, self.postfix = iterable, every, 0, ''

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.n += 1
            if self.n == 1 or self.n % self.every == 0:
                print(f'{self.n} frames {self.postfix}', file=sys.stderr, flush=True)

    def set_postfix(self, **kw):
        self.postfix = ' '.join(f'{k}={v}' for k, v in kw.items())

    def close(self):
        print(f'{self.n} frames done {self.postfix}', file=sys.stderr, flush=True)


def progress(iterable):
    """A tqdm bar when tqdm is importable, else :class:`_Counter`."""
    try:
        from tqdm import tqdm
    except ImportError:
        return _Counter(iterable)
    return tqdm(iterable, unit='frame', file=sys.stderr)


def read_image(path: str):
    """The image as stored, in RGB(A->RGB) order: (H, W, 3) colour or (H, W) grey, uint8 or uint16.

    No conversion: the segmenter applies the input policy (grey refused unless --grey-to-rgb,
    16-bit refused)."""
    import cv2

    img = cv2.imread(path, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH)
    if img is None:
        raise SystemExit(f'error: cannot read image {path}')
    if img.ndim == 3 and img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def iter_frames(src: str, max_frames=None):
    """Yield (stem, frame, source); ``stem`` names the outputs, ``source`` the frame in errors.

    Video/camera frames are RGB uint8; image files are returned as stored (:func:`read_image`)."""
    import cv2

    n = 0
    if src.isdigit() or os.path.isfile(src) and src.lower().endswith(VIDEO_EXTS):
        cap = cv2.VideoCapture(int(src) if src.isdigit() else src)
        if not cap.isOpened():
            raise SystemExit(f'error: cannot open {"camera " + src if src.isdigit() else src}')
        base = f'camera{src}' if src.isdigit() else os.path.splitext(os.path.basename(src))[0]
        try:
            while max_frames is None or n < max_frames:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield f'{base}_{n:06d}', cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), f'{src} frame {n}'
                n += 1
        finally:
            cap.release()
        return
    if os.path.isdir(src):
        files = sorted(f for f in os.listdir(src) if f.lower().endswith(IMAGE_EXTS))
        if not files:
            raise SystemExit(f'error: no images ({", ".join(IMAGE_EXTS)}) in {src}')
        paths = [os.path.join(src, f) for f in files]
    elif os.path.isfile(src):
        paths = [src]
    else:
        raise SystemExit(f'error: input {src} is not a file, a folder or a camera index')
    for path in paths[:max_frames]:
        yield os.path.splitext(os.path.basename(path))[0], read_image(path), path


def read_gt(gt_dir: str, stem: str, ext: str, offset: int, shape):
    import cv2

    from crossmodal_runtime.labels import stored_to_train_ids

    path = os.path.join(gt_dir, stem + ext)
    raw = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise SystemExit(f'error: ground truth {path} is missing or unreadable')
    if raw.ndim != 2:
        raise SystemExit(
            f'error: ground truth {path} has shape {raw.shape}; expected a single-channel label map'
        )
    if raw.shape != tuple(shape):
        raise SystemExit(f'error: ground truth {path} is {raw.shape}, the frame {tuple(shape)}')
    return stored_to_train_ids(raw, offset)  # the data contract's rule (crossmodal_runtime.labels)


def has_display() -> bool:
    if sys.platform.startswith('linux'):
        return bool(os.environ.get('DISPLAY') or os.environ.get('WAYLAND_DISPLAY'))
    return True


def build_segmenter(args):
    if args.model.endswith('.onnx'):
        if args.config or args.input_size or args.student_prefix:
            raise SystemExit(
                'error: --config/--input-size/--student-prefix apply to checkpoints; '
                'an .onnx model carries its settings in its sidecar'
            )
        from crossmodal_runtime import Segmenter

        return Segmenter(args.model, grey_to_rgb=args.grey_to_rgb)
    if not args.config:
        raise SystemExit(f'error: {args.model} is a checkpoint: pass its --config')
    from crossmodal.apis.segmenter import Segmenter

    return Segmenter(
        args.model,
        config=args.config,
        input_size=args.input_size,
        student_prefix=args.student_prefix,
        grey_to_rgb=args.grey_to_rgb,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    import cv2

    from crossmodal_runtime import FrameError, SidecarError, overlay, side_by_side

    try:
        seg = build_segmenter(args)
    except (SidecarError, FileNotFoundError, ValueError, RuntimeError) as e:
        # ValueError: ModelFileError (corrupt .onnx), CheckpointMismatchError, NotAStudentError;
        # RuntimeError: crossmodal.compat refusing an unloadable .pth
        print(f'error: {e}', file=sys.stderr)
        return 2
    show = args.show and has_display()
    if args.show and not show:
        print(
            'warning: --show ignored: no display (DISPLAY/WAYLAND_DISPLAY unset)', file=sys.stderr
        )
    dirs = {k: os.path.join(args.out, k) for k in ('labels', 'overlays', 'side_by_side')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    n, model_s, t0 = 0, 0.0, time.perf_counter()
    bar = progress(iter_frames(args.input, args.max_frames))
    for stem, frame, source in bar:
        t = time.perf_counter()
        try:
            out = seg(frame, where=source)
        except (FrameError, SidecarError) as e:
            bar.close()
            print(f'error: {e}', file=sys.stderr)
            return 2
        model_s += time.perf_counter() - t
        if frame.ndim == 2:  # accepted with --grey-to-rgb: draw on the frame the model saw
            frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2RGB)
        gt = (
            read_gt(args.gt_dir, stem, args.gt_ext, args.label_offset, frame.shape[:2])
            if args.gt_dir
            else None
        )
        ov = overlay(frame, out.labels, seg.palette, args.alpha)
        sbs = side_by_side(frame, out.labels, seg.palette, gt)
        cv2.imwrite(os.path.join(dirs['labels'], stem + '.png'), out.labels)
        cv2.imwrite(
            os.path.join(dirs['overlays'], stem + '.png'), cv2.cvtColor(ov, cv2.COLOR_RGB2BGR)
        )
        cv2.imwrite(
            os.path.join(dirs['side_by_side'], stem + '.png'), cv2.cvtColor(sbs, cv2.COLOR_RGB2BGR)
        )
        n += 1
        bar.set_postfix(fps=f'{n / max(model_s, 1e-9):.1f}')
        if show:
            cv2.imshow('crossmodal', cv2.cvtColor(sbs, cv2.COLOR_RGB2BGR))
            if cv2.waitKey(1) & 0xFF == ord('q'):
                break
    bar.close()
    if show:
        cv2.destroyAllWindows()
    total = time.perf_counter() - t0
    print(
        json.dumps(
            {
                'frames': n,
                'out': args.out,
                'model_seconds': round(model_s, 4),
                'model_fps': round(n / model_s, 2) if model_s else None,
                'total_seconds': round(total, 4),
                'fps': round(n / total, 2) if total else None,
            }
        )
    )
    return 0 if n else 1


if __name__ == '__main__':
    sys.exit(main())
