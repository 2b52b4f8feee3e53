"""Inference latency of a student (PyTorch eager vs ONNX Runtime) and optionally its teacher.

    python tools/benchmark.py infer --config student.py [--ckpt student.pth] [--input-size 480 640]
                                    [--teacher-config teacher.py [--teacher-ckpt t.pth]]

What is timed (batch 1, CPU, after warm-up; median over ``--iters`` runs):

- ``torch_eager``: the student's export graph in PyTorch (normalise -> ``extract_feat`` ->
  ``decode_head`` -> bilinear upsampling to the input size), under ``torch.inference_mode``.
- ``onnxruntime``: the same graph exported at that fixed size, run by onnxruntime (CPU provider).
- ``teacher_eager`` (optional): ``teacher(inputs, mode='tensor')`` with ``inputs`` a dict of random
  modality tensors (names from the teacher config's ``modalities``, channels from its per-modality
  mean, or ``--teacher-modalities rgb:3 depth:1``), followed by the same bilinear upsampling of the
  logits to the input size as the student's graph. Weights are random unless ``--teacher-ckpt``.

Without ``--ckpt`` the student keeps its random initialisation (latency does not depend on the
weights). Resolution: ``--input-size``, else the config's ``data_preprocessor.size``, else 480x640
(NYUDv2 frames).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any, Callable, Dict, List

__all__ = ['add_arguments', 'run', 'time_fn']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--config', required=True, help='student config')
    parser.add_argument('--ckpt', default=None, help='student checkpoint (default: random init)')
    parser.add_argument('--student-prefix', default=None)
    parser.add_argument('--input-size', type=int, nargs=2, metavar=('H', 'W'), default=None)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch and onnxruntime intra-op threads (default: library defaults)',
    )
    parser.add_argument('--teacher-config', default=None, help='optional RGB-X teacher config')
    parser.add_argument('--teacher-ckpt', default=None)
    parser.add_argument(
        '--teacher-modalities',
        nargs='+',
        default=None,
        metavar='NAME:C',
        help='teacher inputs, e.g. rgb:3 depth:1 (default: from its '
        'data_preprocessor, else rgb:3 depth:1)',
    )


def time_fn(fn: Callable[[], Any], warmup: int, iters: int) -> Dict[str, float]:
    """Median and mean wall time of ``fn()`` in milliseconds, and frames/s from the median."""
    for _ in range(max(0, warmup)):
        fn()
    times: List[float] = []
    for _ in range(max(1, iters)):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000.0)
    med = statistics.median(times)
    return {
        'median_ms': round(med, 3),
        'mean_ms': round(statistics.fmean(times), 3),
        'min_ms': round(min(times), 3),
        'fps': round(1000.0 / med, 2),
        'iters': len(times),
    }


def _teacher_modalities(cfg: Any, given: List[str] | None) -> Dict[str, int]:
    if given:
        out = {}
        for item in given:
            name, _, ch = item.partition(':')
            if not ch.isdigit():
                raise ValueError(f'--teacher-modalities expects NAME:CHANNELS, got {item!r}')
            out[name] = int(ch)
        return out
    model_cfg = cfg.get('model') or {}
    dp = model_cfg.get('data_preprocessor') or {}
    mean = dp.get('mean') if isinstance(dp.get('mean'), dict) else {}
    names = list(model_cfg.get('modalities') or mean or ('rgb', 'depth'))
    from crossmodal.modalities import MODALITY_CHANNELS as default

    return {n: len(mean[n]) if n in mean else default.get(n, 1) for n in names}


def _bench_teacher(args, size) -> Dict[str, Any]:
    import torch
    import torch.nn.functional as F

    import crossmodal
    from crossmodal.compat import load_checkpoint_file
    from crossmodal.deploy.student import extract_state_dict, load_config
    from mmseg.registry import MODELS

    crossmodal.register_all_modules(init_default_scope=True)
    cfg = load_config(args.teacher_config)
    model = MODELS.build(cfg.model.copy())
    if args.teacher_ckpt:
        sd, _ = extract_state_dict(load_checkpoint_file(args.teacher_ckpt), args.teacher_ckpt)
        missing, unexpected = model.load_state_dict(sd, strict=False)
        if missing or unexpected:
            raise ValueError(
                f'{args.teacher_ckpt}: weights do not match {args.teacher_config}: '
                f'{len(missing)} missing, {len(unexpected)} unexpected keys'
            )
    model.eval()
    mods = _teacher_modalities(cfg, args.teacher_modalities)
    inputs = {k: torch.randn(1, c, *size) for k, c in mods.items()}
    align = bool(getattr(getattr(model, 'decode_head', None), 'align_corners', False))

    def fwd():  # logits at input resolution, like the student's graph
        with torch.inference_mode():
            F.interpolate(
                model(inputs, None, mode='tensor'), size=size, mode='bilinear', align_corners=align
            )

    res = time_fn(fwd, args.warmup, args.iters)
    res['modalities'] = mods
    res['params_m'] = round(sum(p.numel() for p in model.parameters()) / 1e6, 3)
    return res


def run(args: argparse.Namespace) -> Dict[str, Any]:
    import numpy as np
    import torch

    from crossmodal.deploy import StudentGraph, export_onnx, load_student
    from crossmodal_runtime import OnnxBackend

    if args.threads:
        torch.set_num_threads(args.threads)
    model, cfg, _, info = load_student(args.config, args.ckpt, student_prefix=args.student_prefix)
    size = tuple(args.input_size or info.size or (480, 640))
    graph = StudentGraph(model, info.mean, info.std, info.network_channel_order).eval()
    x = torch.rand(1, 3, *size) * 255.0

    def eager():
        with torch.inference_mode():
            graph(x)

    result: Dict[str, Any] = {
        'benchmark': 'infer',
        'input_size': list(size),
        'batch': 1,
        'device': 'cpu',
        'torch_threads': torch.get_num_threads(),
        'cpu_count': os.cpu_count(),
        'student': {
            'config': args.config,
            'ckpt': args.ckpt,
            'params_m': round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
        },
    }
    result['torch_eager'] = time_fn(eager, args.warmup, args.iters)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'student.onnx')
        export_onnx(model, info, path, input_size=size, dynamic=False)
        backend = OnnxBackend(path, num_threads=args.threads)
        xn = x.numpy()
        result['onnxruntime'] = time_fn(lambda: backend(xn), args.warmup, args.iters)
        import onnxruntime

        result['onnxruntime']['version'] = onnxruntime.__version__
        with torch.inference_mode():
            ref = graph(x).numpy()
        result['onnxruntime']['max_abs_diff_vs_eager'] = float(np.abs(backend(xn) - ref).max())
    result['ort_over_eager_latency'] = round(
        result['onnxruntime']['median_ms'] / result['torch_eager']['median_ms'], 3
    )
    if args.teacher_config:
        result['teacher_eager'] = _bench_teacher(args, size)
        result['teacher_over_student_eager_latency'] = round(
            result['teacher_eager']['median_ms'] / result['torch_eager']['median_ms'], 2
        )
        result['teacher_eager_over_student_ort_latency'] = round(
            result['teacher_eager']['median_ms'] / result['onnxruntime']['median_ms'], 2
        )
    return result
