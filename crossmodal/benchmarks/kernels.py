"""Time and peak memory of the distillation kernels: reference vs chunked vs Triton.

    python tools/benchmark.py kernels [--quick] [--sizes 1024 4096 16384] [--dims 32 64]
                                      [--batch 1 --heads 2] [--dense-shape 8 40 480 640]

What is measured, per case: one forward + backward of the loss with respect to the student's
inputs (attention KL: q_s, k_s of shape (B, h, N, d), N keys = N queries, tau = 1; dense KD:
z_s of (B, K, H, W) logits, tau = 2), first run as warm-up, then the median of ``--repeats`` runs.

Peak memory (``peak_mib``) is the memory the op adds on top of its inputs:
* CUDA: ``torch.cuda.max_memory_allocated()`` minus the allocated bytes after the inputs were
  made (exact for the caching allocator's tensors).
* CPU: every case runs in a fresh subprocess; after a tiny warm-up call (library start-up
  allocations) the kernel's RSS high-water mark is reset (``/proc/self/clear_refs`` = 5), and
  peak = VmHWM after the first full forward + backward minus VmRSS before it. It
  includes the input gradients (identical for every impl) and allocator slack, so it is an
  honest upper bound on the working memory, not a tensor count.

``--impls ... triton_tf32`` adds a column for the Triton attention-KL kernel with tf32 ``tl.dot``
(``--tf32`` instead switches the ``triton`` column itself to tf32). ``--in-process`` runs the CPU
cases in this process (quicker, less exact peak).

Sizes whose estimated reference memory exceeds ``--mem-budget-gib`` are skipped and reported
with the estimate. Triton runs only on CUDA (the CPU interpreter is a test tool, not a speed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from typing import Dict, List

GIB = 1 << 30
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        '--quick',
        action='store_true',
        help='CPU-sized run: N in {1024, 4096}, dense KD at 2 x 40 x 240 x 320',
    )
    parser.add_argument('--sizes', type=int, nargs='+', default=None, help='token counts N')
    parser.add_argument('--dims', type=int, nargs='+', default=[32, 64], help='head widths d')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--heads', type=int, default=2)
    parser.add_argument(
        '--dense-shape', type=int, nargs=4, default=None, metavar=('B', 'K', 'H', 'W')
    )
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument(
        '--impls',
        nargs='+',
        default=['reference', 'chunked', 'triton'],
        help='of reference, chunked, triton, triton_tf32 (attention KL with tf32 '
        'tl.dot, a column of its own; dense KD has no tf32 variant)',
    )
    parser.add_argument('--device', default='auto', choices=['auto', 'cpu', 'cuda'])
    parser.add_argument(
        '--mem-budget-gib',
        type=float,
        default=None,
        help='skip cases whose estimated peak exceeds this (default: CPU 4 GiB or '
        '40%% of available RAM if less; CUDA 80%% of free memory)',
    )
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch intra-op threads (default: torch default). On a shared, loaded CPU '
        'use 1: OpenMP barriers stall when a core is taken, which penalises the '
        'many small ops of the chunked paths more than the few big reference ops',
    )
    parser.add_argument('--tf32', action='store_true', help='Triton attention-KL with tf32 tl.dot')
    parser.add_argument(
        '--in-process',
        action='store_true',
        help='CPU: run every case in this process instead of a fresh one each (faster '
        'start-up; the RSS peak is then less exact: library allocations of earlier '
        'cases are already resident)',
    )
    parser.add_argument(
        '--case', default=None, help=argparse.SUPPRESS
    )  # internal: subprocess worker


# ----------------------------------------------------------------------------------------- worker
def _status_bytes(key: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise OSError(f'{key} not in /proc/self/status')


def _reset_peak_rss() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM; Linux >= 4.0). False if unsupported."""
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def _peak_rss_bytes(reset_ok: bool) -> int:
    if reset_ok:
        return _status_bytes('VmHWM')
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def run_case(case: Dict) -> Dict:
    """Run one case in this process; returns median time and peak extra memory."""
    import torch

    from crossmodal.ops.attention_kl import attention_kl
    from crossmodal.ops.dense_kd import dense_kd

    dev = torch.device(case['device'])
    if case['impl'] == 'triton_tf32':
        case = dict(case, impl='triton', tf32=True)
    if case.get('threads'):
        torch.set_num_threads(case['threads'])
    gen = torch.Generator(device='cpu').manual_seed(0)

    def make(*shape, scale=1.0, grad=False):
        t = (scale * torch.randn(*shape, generator=gen)).to(dev)
        return t.requires_grad_(grad)

    if case['op'] == 'attention_kl':
        B, h, N, d = case['B'], case['h'], case['N'], case['d']
        inputs = [
            make(B, h, N, d, scale=d**-0.25, grad=True),
            make(B, h, N, d, scale=d**-0.25, grad=True),
            make(B, h, N, d, scale=d**-0.25),
            make(B, h, N, d, scale=d**-0.25),
        ]
        kwargs = dict(precision='tf32') if case.get('tf32') and case['impl'] == 'triton' else {}

        def step():
            loss = attention_kl(*inputs, tau=1.0, impl=case['impl'], **kwargs)
            loss.backward()
            return loss

        params = inputs[:2]
    else:
        B, K, H, W = case['shape']
        inputs = [make(B, K, H, W, scale=3.0, grad=True), make(B, K, H, W, scale=3.0)]

        def step():
            loss = dense_kd(*inputs, tau=2.0, impl=case['impl'])
            loss.backward()
            return loss

        params = inputs[:1]

    def clear():
        for p in params:
            p.grad = None

    if dev.type == 'cuda':
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        value = step().item()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        # warm the libraries (thread pools, autograd engine) on a tiny copy of the case first
        small = [t[..., :8, :].detach().clone().requires_grad_(t.requires_grad) for t in inputs]
        if case['op'] == 'attention_kl':
            attention_kl(*small, impl=case['impl'], **kwargs).backward()
        else:
            dense_kd(*small, tau=2.0, impl=case['impl']).backward()
        del small
        reset_ok = _reset_peak_rss()
        base = _status_bytes('VmRSS')
        value = step().item()
        peak = max(0, _peak_rss_bytes(reset_ok) - base)
    clear()
    times = []
    for _ in range(case['repeats']):
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if dev.type == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        clear()
    return dict(
        median_s=round(statistics.median(times), 5),
        times_s=[round(t, 5) for t in times],
        peak_mib=round(peak / 2**20, 1),
        loss=value,
    )


def _run_isolated(case: Dict) -> Dict:
    """CPU: run a case in a fresh interpreter so its RSS high-water mark is its own."""
    cmd = [sys.executable, '-m', 'crossmodal.benchmarks.kernels', '--case', json.dumps(case)]
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if res.returncode != 0:
        return dict(error=(res.stderr.strip().splitlines() or ['failed'])[-1])
    return json.loads(res.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------- planning
def _estimate_bytes(case: Dict) -> int:
    """Rough peak of a case (float32), used only to skip cases that cannot fit."""
    if case['op'] == 'attention_kl':
        rows = case['B'] * case['h'] * case['N']
        per_map = rows * case['N'] * 4
        if case['impl'] == 'reference':
            return 10 * per_map  # scores, log-softmaxes, probabilities, products and their grads
        return rows * case['d'] * 4 * 8 + 16 * 2**20
    B, K, H, W = case['shape']
    per = B * K * H * W * 4
    return (9 if case['impl'] == 'reference' else 4) * per


def _budget(args, cuda: bool) -> float:
    if args.mem_budget_gib is not None:
        return args.mem_budget_gib * GIB
    if cuda:
        import torch

        free, _ = torch.cuda.mem_get_info()
        return 0.8 * free
    avail = 4 * GIB
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    avail = min(avail, 0.4 * int(line.split()[1]) * 1024)
    except OSError:
        pass
    return avail


def run(args) -> Dict:
    if args.case is not None:  # worker mode
        return run_case(json.loads(args.case))
    import torch

    cuda = args.device == 'cuda' or (args.device == 'auto' and torch.cuda.is_available())
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit(
            'crossmodal/benchmarks/kernels.py: --device cuda but CUDA is not available'
        )
    device = 'cuda' if cuda else 'cpu'
    sizes = args.sizes or ([1024, 4096] if args.quick else [1024, 4096, 16384])
    dense_shape = args.dense_shape or ([2, 40, 240, 320] if args.quick else [8, 40, 480, 640])
    budget = _budget(args, cuda)
    impls = [i for i in args.impls if i in ('reference', 'chunked', 'triton', 'triton_tf32')]

    def do(case):
        if case['impl'] == 'triton_tf32' and case['op'] != 'attention_kl':
            return dict(skipped='tf32 applies to the attention-KL kernel only')
        if case['impl'].startswith('triton') and not cuda:
            return dict(
                skipped='no CUDA device (the Triton interpreter on CPU is a test tool, not timed)'
            )
        est = _estimate_bytes(case)
        if est > budget:
            return dict(
                skipped=f'estimated {est / GIB:.1f} GiB exceeds the {budget / GIB:.1f} GiB budget',
                estimated_gib=round(est / GIB, 2),
            )
        return run_case(case) if cuda or args.in_process else _run_isolated(case)

    attention: List[Dict] = []
    for N in sizes:
        for d in args.dims:
            row = dict(N=N, d=d, B=args.batch, heads=args.heads)
            for impl in impls:
                row[impl] = do(
                    dict(
                        op='attention_kl',
                        impl=impl,
                        device=device,
                        B=args.batch,
                        h=args.heads,
                        N=N,
                        d=d,
                        repeats=args.repeats,
                        tf32=args.tf32,
                        threads=args.threads,
                    )
                )
            _ratios(row)
            attention.append(row)
    dense = dict(shape=dense_shape)
    for impl in impls:
        dense[impl] = do(
            dict(
                op='dense_kd',
                impl=impl,
                device=device,
                shape=dense_shape,
                repeats=args.repeats,
                threads=args.threads,
            )
        )
    _ratios(dense)
    result = dict(
        device=torch.cuda.get_device_name()
        if cuda
        else f'cpu ({platform.processor() or "x86_64"}, '
        f'{os.cpu_count()} cores, {args.threads or torch.get_num_threads()} torch threads, '
        f'load average {os.getloadavg()[0]:.1f} at start)',
        torch=torch.__version__,
        memory_method='cuda max_memory_allocated'
        if cuda
        else ('in-process' if args.in_process else 'per-case subprocess')
        + ': VmHWM (reset after warm-up) minus VmRSS before the step',
        quick=bool(args.quick),
        repeats=args.repeats,
        impls=impls,
        attention_kl=attention,
        dense_kd=dense,
    )
    result['goals'] = _goals(attention, dense, cuda)
    return result


def _ratios(row: Dict) -> None:
    ref = row.get('reference', {})
    for impl in ('chunked', 'triton', 'triton_tf32'):
        r = row.get(impl, {})
        if 'median_s' in r and 'median_s' in ref:
            r['time_vs_reference'] = round(r['median_s'] / ref['median_s'], 3)
            if ref['peak_mib'] > 0:
                r['memory_vs_reference'] = round(r['peak_mib'] / ref['peak_mib'], 4)


def _goals(attention: List[Dict], dense: Dict, cuda: bool) -> Dict:
    goals = {}
    at4096 = [r for r in attention if r['N'] == 4096]
    if not cuda:
        for r in at4096:
            c = r.get('chunked', {})
            if 'time_vs_reference' in c:
                goals[f'cpu_chunked_N4096_d{r["d"]}'] = dict(
                    memory_ratio=c['memory_vs_reference'],
                    time_ratio=c['time_vs_reference'],
                    met=c['memory_vs_reference'] <= 0.10 and c['time_vs_reference'] <= 1.5,
                    target='memory <= 0.10 x reference and time <= 1.5 x reference',
                )
    else:
        for r in at4096:
            t = r.get('triton', {})
            if 'time_vs_reference' in t:
                goals[f'gpu_triton_N4096_d{r["d"]}'] = dict(
                    speedup=round(1 / t['time_vs_reference'], 2),
                    memory_ratio=t['memory_vs_reference'],
                    met=t['time_vs_reference'] <= 1 / 3 and t['memory_vs_reference'] <= 0.05,
                    target='>= 3x faster and <= 0.05 x memory of reference',
                )
        t = dense.get('triton', {})
        if 'time_vs_reference' in t:
            goals['gpu_triton_dense_kd'] = dict(
                speedup=round(1 / t['time_vs_reference'], 2),
                met=t['time_vs_reference'] <= 0.5,
                target='>= 2x faster',
            )
    return goals


if (
    __name__ == '__main__'
):  # subprocess worker: python -m crossmodal.benchmarks.kernels --case '{...}'
    sys.path.insert(0, ROOT)
    p = argparse.ArgumentParser()
    add_arguments(p)
    print(json.dumps(run(p.parse_args())))
