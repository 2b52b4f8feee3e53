#!/usr/bin/env python
"""Cache a distiller's teacher outputs once, for training students without running the teacher.

    python tools/cache_teacher.py <distill config> --out <cache dir> [--topk 4]
        [--taps stage4 | rgbt.stage4 ...] [--device cpu] [--no-progress] [--cfg-options k=v ...]

Builds the config's teachers exactly as training does (``model.teachers.<name>.checkpoint``,
loaded strictly), runs each once over the **train** split with the config's test-style loading
pipeline (the val dataloader's: no augmentation, full frames) and writes per sample the top-k
logits of every pixel (fp16 values, uint8/int16 class indices, fp16 tail log-sum-exp) at the
logits' resolution, the requested tapped features (fp16), and ``<out>/manifest.json`` (teacher
config and checkpoint hashes, dataset hash, split, k, crossmodal version, samples). Resumable:
re-running with the same ``--out`` skips the samples already written (each written atomically).
Prints a JSON summary (samples, bytes per frame, dense fp16 bytes per frame, ratio, seconds).

Several processes share the work with ``--shard I/N`` (process I of N computes every N-th sample),
or under a launcher that sets ``RANK`` / ``WORLD_SIZE`` (``torchrun --nproc_per_node N
tools/cache_teacher.py ... --device cuda``: each process on GPU ``LOCAL_RANK``); the process that
finishes last writes the complete manifest.

Train from the cache with ``--cfg-options model.teacher_cache=<cache dir>`` (or a config that
sets it, e.g. configs/benchmark_v3/kd-cached_*.py); see docs/teacher_cache.md.
"""

import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402,F401  (compat layer first)
from crossmodal.utils.runner_setup import DictAction  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='Cache teacher top-k logits for offline distillation')
    p.add_argument('config', help='a DistillSegmentor (distillation) config')
    p.add_argument('--out', required=True, help='cache directory (created; resumable)')
    p.add_argument('--topk', type=int, default=4, help='logits kept per pixel (default 4)')
    p.add_argument(
        '--taps',
        nargs='+',
        default=None,
        help='teacher taps to cache too (fp16): <tap> (every teacher declaring it) or '
        '<teacher>.<tap>, names of model.teachers.<name>.taps',
    )
    p.add_argument('--device', default='cpu', help='cpu or cuda (launched: cuda:LOCAL_RANK)')
    p.add_argument(
        '--shard',
        default=None,
        help='I/N: this process computes samples I, I+N, ... (default: RANK/WORLD_SIZE of the '
        'launcher, else 0/1)',
    )
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='k=v config overrides')
    return p.parse_args(argv)


def parse_shard(text=None):
    """``(i, n)`` from ``'I/N'``, else the launcher's ``RANK`` / ``WORLD_SIZE``, else (0, 1)."""
    if text is None:
        if 'WORLD_SIZE' in os.environ:
            return int(os.environ.get('RANK', 0)), int(os.environ['WORLD_SIZE'])
        return 0, 1
    try:
        i, n = (int(v) for v in str(text).split('/'))
    except ValueError:
        raise SystemExit(f'--shard must be I/N (e.g. 0/4), got {text!r}') from None
    if not (n >= 1 and 0 <= i < n):
        raise SystemExit(f'--shard {text}: needs 0 <= I < N')
    return i, n


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmengine.config import Config

    from crossmodal.teacher_cache.writer import cache_teachers

    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    shard = parse_shard(args.shard)
    device = args.device
    if device == 'cuda' and 'LOCAL_RANK' in os.environ:
        device = f'cuda:{int(os.environ["LOCAL_RANK"])}'
    summary = cache_teachers(
        cfg,
        args.out,
        topk=args.topk,
        taps=args.taps,
        device=device,
        progress=not args.no_progress and shard[0] == 0,
        shard=shard,
    )
    print(json.dumps(summary, indent=2))
    return summary


if __name__ == '__main__':
    main()
