"""One prepared GPU check: everything a short GPU lease can measure, as one JSON object.

    bash tools/gpu_check.sh [--dry-run] [--out gpu_check.json]
    python -m crossmodal.benchmarks.gpu_check [--dry-run] [--out FILE] [--parts environment ...]

Parts (one function each, run in this order; each under its own time cap, each recording
``{"error": ..., "traceback_tail": ...}`` instead of stopping the rest):

1. ``environment``: device name, compute capability, torch / triton / CUDA / cuDNN / onnxruntime
   versions and providers, free and total device memory (CPU: the processor, MemAvailable).
2. ``kernels``: the Triton-vs-reference equivalence tests compiled for the device
   (``pytest tests/ops/test_triton_kernels.py tests/ops/test_triton_sizing.py`` with
   ``TRITON_INTERPRET=0``, a subprocess with a timeout; pass/fail/skip counts from its junit
   XML), then ``tools/benchmark.py kernels --device cuda --impls reference chunked triton
   triton_tf32`` (time and peak memory per implementation, a subprocess with a timeout).
3. ``train_throughput``: for the NYUDv2 CWD B2->B0 config and the MFNet RTFDNet B2 config, built
   from the real config with random weights (:func:`crossmodal.benchmarks.train_step.measure`),
   on a random batch at the config's crop (480x640) and batch (8): student-only step, teacher
   forward and distillation step, in fp32 and with AMP (CUDA fp16 + GradScaler; CPU bf16), as
   ms, images/s, peak memory and ``ratio`` = distill / (student + teacher).
   ``cached_teacher_step`` is ``null`` until offline teacher caching exists.
4. ``smoke``: a short AMP training run of the NYUDv2 CWD config through mmengine's Runner on a
   generated stand-in dataset in the converter's layout, with fabricated ImageNet weights and a
   fabricated teacher checkpoint (:mod:`crossmodal.testing.config_check`), 200 iterations at half
   resolution (240x320), batch 4; checks: every loss finite, mean of the last 20 losses below the
   first 20, checkpoint written and reloaded with ``weights_only=True``
   (:func:`crossmodal.compat.load_checkpoint_file`) equal to the trained weights.
5. ``inference``: the B0 student (``configs/students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py``,
   random weights) as the deployed graph (:class:`crossmodal.deploy.StudentGraph`) at 480x640,
   batch 1: PyTorch eager, ``torch.compile`` (inductor), the exported ONNX graph
   (:func:`crossmodal.deploy.export_onnx`) in ONNX Runtime with the CUDA provider (or why not) and
   with the CPU provider; median latency over N runs and frames/s.

``--dry-run`` runs every part at tiny size on the CPU (1/16 resolution, 1-3 iterations, the
Triton tests under the interpreter, ``torch.compile`` with the ``eager`` backend) and prints the
same keys; the test suite runs it (``tests/benchmarks/test_gpu_check.py``).

Cost, measured on CPU and extrapolated to one H200 (budget = the part's time cap; the run stops
at 480 s, the device tool's 600 s per command minus machine start-up and a margin; wall times):

==================  ==========================  ================================  ============
part                CPU dry run, measured (2    H200 estimate (full size)         cap
                    cores shared with others:
                    unloaded / loaded)
==================  ==========================  ================================  ============
start-up / imports  ~7 s                        ~10 s                             --
environment         0.3 s                       ~2 s (CUDA init)                  15 s
kernels             12 / 30 s (pytest under     tests ~40 s (JIT compiles of      tests 150 s
                    the interpreter 8 s,        ~25 kernel variants, AOT sizing   bench 120 s
                    benchmark 64 tokens 4 s)    for sm_80/86/90); benchmark ~40 s (part 270 s)
                                                (4 impls x 7 cases x 4 runs + JIT;
                                                reference at N = 16384 ~20 GiB)
train_throughput    20 / 24 s (2 configs at     CPU 1 thread, 1/8 size (64x80),   160 s (80 s
                    1/16 size, batch 2, fp32    batch 2, fp32: CWD distill step   per config)
                    + bf16, 1 timed run)        0.4 s, RTFDNet 2.5 s. Full size
                                                batch 8 is 256x the work; an H200
                                                ~500-1000x one CPU thread: ~0.2 s
                                                (CWD) / ~1 s (RTFDNet) per step;
                                                (peak run + 1 warm-up + 6 timed) x
                                                3 steps x 2 precisions + builds:
                                                CWD ~20 s, RTFDNet ~50 s
smoke               10 / 11 s (3 iterations     200 iterations at 240x320, batch  150 s
                    at 32x48, checkpoint        4, AMP: ~0.1 s each = ~20 s;
                    243 MiB saved + reloaded)   stand-in data, fake weights,
                                                Runner build, validation,
                                                checkpoint save/reload ~20 s
inference           8 s (64x64, 3 runs,         export ~10 s, eager 10 + 50 runs  120 s
                    compile backend eager)      ~5 ms, ORT CUDA 60 runs, ORT CPU
                                                20 runs ~0.1 s, inductor compile
                                                ~40-60 s (last, gets what is
                                                left): ~80 s
total               ~50 / ~75 s                 ~300 s                            480 s
==================  ==========================  ================================  ============

The caps add up to more than 480 s on purpose: each part runs under ``min(its cap, time left of
the 480 s)``, and a part that would start with less than 20 s left is recorded as
``{"error": "skipped: total budget spent ..."}``, so the command ends by ~480 s plus start-up and
leaves a rerun of single parts (``--parts``) in a 15-minute lease. A cap is enforced with
``signal.setitimer`` in this process (it fires between Python operations); the Triton parts run
in subprocesses with timeouts, so a CUDA fault in a kernel cannot poison the other parts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import os.path as osp
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any, Callable, Dict, List, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

CWD_CONFIG = 'configs/distill/cwd/cwd_segformer_mit-b2-to-b0_80k_nyudv2-rgbd-480x640.py'
RTFDNET_CONFIG = 'configs/distill/rtfdnet/rtfdnet_mit-b2_40k_mfnet-480x640.py'
STUDENT_CONFIG = 'configs/students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py'
KERNEL_TEST_FILES = ['tests/ops/test_triton_kernels.py', 'tests/ops/test_triton_sizing.py']
PARTS = ('environment', 'kernels', 'train_throughput', 'smoke', 'inference')
TOTAL_BUDGET_S = 480
MIN_START_S = 20  # do not start a part with less than this left of the total budget

#: Settings of the full (GPU) run and of the dry run; the same keys.
SETTINGS: Dict[str, Dict[str, Any]] = {
    'full': dict(
        budgets=dict(environment=15, kernels=270, train_throughput=160, smoke=150, inference=120),
        kernel_tests=dict(files=KERNEL_TEST_FILES, interpret='0', timeout=150),
        kernel_bench=dict(
            args=['--impls', 'reference', 'chunked', 'triton', 'triton_tf32'], timeout=120
        ),
        train=dict(
            configs={'nyudv2_cwd_b2_to_b0': CWD_CONFIG, 'mfnet_rtfdnet_b2': RTFDNET_CONFIG},
            scale=1.0,
            batch_size=None,
            iters=6,
            warmup=2,
            precisions=['fp32', 'amp'],
        ),
        smoke=dict(config=CWD_CONFIG, scale=0.5, batch_size=4, iters=200, window=20, n_train=4),
        inference=dict(
            config=STUDENT_CONFIG,
            size=[480, 640],
            warmup=10,
            iters=50,
            ort_cpu_iters=10,
            compile_backend='inductor',
        ),
    ),
    'dry': dict(
        budgets=dict(environment=15, kernels=120, train_throughput=120, smoke=120, inference=90),
        # the plumbing only (pytest subprocess, junit summary): the interpreted kernels themselves
        # are tests/ops/test_triton_kernels.py in the main suite; the dry run takes one cheap case
        kernel_tests=dict(files=['tests/ops/test_triton_kernels.py::test_triton_argument_errors'],
                          interpret='1', timeout=90),
        kernel_bench=dict(
            args=[
                '--impls',
                'reference',
                'chunked',
                'triton',
                'triton_tf32',
                '--in-process',
                '--sizes',
                '64',
                '--dims',
                '8',
                '--dense-shape',
                '1',
                '4',
                '16',
                '16',
                '--repeats',
                '1',
            ],
            timeout=60,
        ),
        train=dict(
            configs={'nyudv2_cwd_b2_to_b0': CWD_CONFIG, 'mfnet_rtfdnet_b2': RTFDNET_CONFIG},
            scale=1 / 16,
            batch_size=2,
            iters=1,
            warmup=1,
            precisions=['fp32', 'amp'],
        ),
        smoke=dict(config=CWD_CONFIG, scale=1 / 16, batch_size=2, iters=3, window=1, n_train=2),
        inference=dict(
            config=STUDENT_CONFIG,
            size=[64, 64],
            warmup=1,
            iters=3,
            ort_cpu_iters=3,
            compile_backend='eager',
        ),
    ),
}

CACHED_TEACHER_NOTE = (
    'placeholder: offline teacher caching (precomputed teacher outputs read from '
    'disk instead of a teacher forward) does not exist yet; when it does, this is '
    'the distillation step without the teacher forward'
)


class PartTimeout(Exception):
    """A part ran past its time cap."""


# ------------------------------------------------------------------------------------ plumbing
@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Raise :class:`PartTimeout` in this (main) thread after ``seconds``; nests (an inner limit
    never outlives an outer one)."""

    def handler(signum, frame):
        raise PartTimeout(f'{what}: time cap of {seconds:.0f} s exceeded')

    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    outer_handler = signal.getsignal(signal.SIGALRM)
    if outer_left and outer_left < seconds:  # the outer limit fires first: keep it
        yield
        return
    t0 = time.monotonic()
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            left = outer_left - (time.monotonic() - t0)
            if left <= 0:
                raise PartTimeout(f'time cap of the enclosing part exceeded (in {what})')
            signal.setitimer(signal.ITIMER_REAL, left)


def error_record(exc: BaseException) -> Dict[str, str]:
    tb = traceback.format_exc()
    return {'error': f'{type(exc).__name__}: {exc}'[:2000], 'traceback_tail': tb[-3000:]}


def guarded(fn: Callable[[], Dict], seconds: float, what: str) -> Dict:
    """``fn()`` under a time cap; an exception becomes ``{"error", "traceback_tail"}``."""
    t0 = time.monotonic()
    try:
        with time_limit(seconds, what):
            out = fn()
    except Exception as exc:  # PartTimeout included: record it, go on with the rest
        out = error_record(exc)
    out['seconds'] = round(time.monotonic() - t0, 2)
    return out


def _device(dry_run: bool) -> str:
    import torch

    return 'cuda' if torch.cuda.is_available() and not dry_run else 'cpu'


def _sync(device: str) -> None:
    if device == 'cuda':
        import torch

        torch.cuda.synchronize()


def _py_env(**extra) -> Dict[str, str]:
    env = dict(os.environ, **extra)
    env['PYTHONPATH'] = ROOT + (os.pathsep + env['PYTHONPATH'] if env.get('PYTHONPATH') else '')
    return env


# ----------------------------------------------------------------------------------- 1. environment
def part_environment(ctx: Dict) -> Dict:
    import torch

    out: Dict[str, Any] = dict(
        device_type=ctx['device'],
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        cudnn=None,
        triton=None,
        onnxruntime=None,
        onnxruntime_providers=None,
        cpu_count=os.cpu_count(),
    )
    try:
        import triton

        out['triton'] = triton.__version__
    except Exception as exc:
        out['triton'] = f'not importable: {exc}'
    try:
        import onnxruntime

        out['onnxruntime'] = onnxruntime.__version__
        out['onnxruntime_providers'] = onnxruntime.get_available_providers()
    except Exception as exc:
        out['onnxruntime'] = f'not importable: {exc}'
    if ctx['device'] == 'cuda':
        props = torch.cuda.get_device_properties(0)
        free, total = torch.cuda.mem_get_info()
        out.update(
            device_name=torch.cuda.get_device_name(0),
            compute_capability='%d.%d' % torch.cuda.get_device_capability(0),
            device_count=torch.cuda.device_count(),
            multiprocessors=props.multi_processor_count,
            cudnn=torch.backends.cudnn.version(),
            free_memory_mib=round(free / 2**20),
            total_memory_mib=round(total / 2**20),
        )
    else:
        name = platform.processor() or platform.machine()
        mem = {}
        try:
            with open('/proc/cpuinfo') as f:
                for line in f:
                    if line.startswith('model name'):
                        name = line.split(':', 1)[1].strip()
                        break
            with open('/proc/meminfo') as f:
                for line in f:
                    k, v = line.split(':', 1)
                    mem[k] = int(v.split()[0]) * 1024
        except OSError:
            pass
        out.update(
            device_name=name,
            compute_capability=None,
            device_count=0,
            multiprocessors=os.cpu_count(),
            free_memory_mib=round(mem.get('MemAvailable', 0) / 2**20),
            total_memory_mib=round(mem.get('MemTotal', 0) / 2**20),
        )
    out['torch_cuda_available'] = torch.cuda.is_available()
    return out


# ------------------------------------------------------------------------------------ 2. kernels
def _junit_counts(path: str) -> Dict[str, int]:
    import xml.etree.ElementTree as ET

    root = ET.parse(path).getroot()
    suites = [root] if root.tag == 'testsuite' else list(root.iter('testsuite'))
    c = {
        k: sum(int(s.get(k, 0)) for s in suites) for k in ('tests', 'failures', 'errors', 'skipped')
    }
    c['passed'] = c['tests'] - c['failures'] - c['errors'] - c['skipped']
    return c


def kernel_tests(ctx: Dict) -> Dict:
    s = ctx['settings']['kernel_tests']
    with tempfile.TemporaryDirectory() as tmp:
        xml = osp.join(tmp, 'junit.xml')
        cmd = [
            sys.executable,
            '-m',
            'pytest',
            '-q',
            '-p',
            'no:cacheprovider',
            f'--junitxml={xml}',
            *s['files'],
        ]
        t0 = time.monotonic()
        try:
            res = subprocess.run(
                cmd,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=s['timeout'],
                env=_py_env(TRITON_INTERPRET=s['interpret']),
            )
        except subprocess.TimeoutExpired as exc:
            tail = exc.stdout or b''
            tail = tail.decode(errors='replace') if isinstance(tail, bytes) else tail
            return {
                'error': f'pytest timed out after {s["timeout"]} s',
                'traceback_tail': tail[-3000:],
                'files': s['files'],
            }
        lines = (res.stdout + res.stderr).strip().splitlines()
        out = dict(
            files=s['files'],
            triton_interpret=s['interpret'],
            returncode=res.returncode,
            summary=lines[-1] if lines else '',
            seconds=round(time.monotonic() - t0, 2),
        )
        out.update(_junit_counts(xml) if osp.isfile(xml) else {})
        if res.returncode not in (0, 5):  # 5: nothing collected (all skipped at module level)
            out['log_tail'] = lines[-40:]
        return out


def kernel_benchmark(ctx: Dict) -> Dict:
    s = ctx['settings']['kernel_bench']
    cmd = [
        sys.executable,
        osp.join(ROOT, 'tools', 'benchmark.py'),
        'kernels',
        '--device',
        ctx['device'],
        *s['args'],
    ]
    try:
        res = subprocess.run(
            cmd, cwd=ROOT, capture_output=True, text=True, timeout=s['timeout'], env=_py_env()
        )
    except subprocess.TimeoutExpired:
        return {
            'error': f'tools/benchmark.py kernels timed out after {s["timeout"]} s',
            'traceback_tail': '',
        }
    if res.returncode != 0:
        return {
            'error': f'tools/benchmark.py kernels exited {res.returncode}',
            'traceback_tail': res.stderr[-3000:],
        }
    out = json.loads(res.stdout)
    out['command'] = ' '.join(['tools/benchmark.py'] + cmd[2:])
    return out


def part_kernels(ctx: Dict) -> Dict:
    cap = ctx['settings']['budgets']['kernels']
    return dict(
        tests=guarded(lambda: kernel_tests(ctx), cap, 'kernel tests'),
        benchmark=guarded(lambda: kernel_benchmark(ctx), cap, 'kernel benchmark'),
    )


# ------------------------------------------------------------------------------------ 3. training
def part_train_throughput(ctx: Dict) -> Dict:
    from .train_step import load_cfg, measure

    s = ctx['settings']['train']
    out: Dict[str, Any] = {}
    for name, config in s['configs'].items():

        def one(config=config):
            cfg = load_cfg(osp.join(ROOT, config))
            r = measure(
                cfg,
                config=config,
                iters=s['iters'],
                warmup=s['warmup'],
                batch_size=s['batch_size'],
                synthetic=True,
                device=ctx['device'],
                precisions=s['precisions'],
                scale=s['scale'],
            )
            keep = (
                'config',
                'model_type',
                'device',
                'batch_size',
                'scale',
                'batch_shapes',
                'teacher_weights',
                'losses',
                'iters',
                'warmup',
                'goal_ratio',
            )
            res = {k: r[k] for k in keep}
            for p in s['precisions']:
                res[p] = r['results'][p]
            res['distill_over_student_plus_teacher'] = {
                p: r['results'][p]['ratio'] for p in s['precisions']
            }
            res['cached_teacher_step'] = None
            res['cached_teacher_note'] = CACHED_TEACHER_NOTE
            return res

        # each config gets its share of the part's cap, so a slow first one cannot starve the second
        cap = ctx['settings']['budgets']['train_throughput'] / len(s['configs'])
        out[name] = guarded(one, cap, f'train throughput {name}')
        _free(ctx['device'])
    return out


def _free(device: str) -> None:
    import gc

    gc.collect()
    if device == 'cuda':
        import torch

        torch.cuda.empty_cache()


# ------------------------------------------------------------------------------------ 4. smoke run
def part_smoke(ctx: Dict) -> Dict:
    import math

    import torch

    import crossmodal  # noqa: F401  (registries)
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from crossmodal.compat import load_checkpoint_file
    from crossmodal.models.backbones.pretrained import PRETRAINED_DIR_ENV
    from crossmodal.testing.config_check import (
        _env,
        _fast_config_text,
        fabricate_pretrained,
        fabricate_teachers,
        prepare_config,
        shrink_resolution,
        write_standin_dataset,
    )

    from . import amp  # noqa: F401  (registers AutocastOptimWrapper)

    s = ctx['settings']['smoke']
    device = ctx['device']
    work = osp.join(ctx['work_dir'], 'smoke')
    os.makedirs(work, exist_ok=True)
    t0 = time.monotonic()
    cfg, kind, hw = prepare_config(
        osp.join(ROOT, s['config']),
        work,
        scale=s['scale'],
        iters=s['iters'],
        batch_size=s['batch_size'],
    )
    root = cfg.train_dataloader.dataset.data_root
    write_standin_dataset(kind, root, hw, n_train=s['n_train'], n_test=2)
    # this check does save a checkpoint (config_check turns saving off): the last iteration's
    hooks = cfg.default_hooks
    hooks.checkpoint.interval = s['iters']
    hooks.checkpoint.by_epoch = False
    hooks.checkpoint.save_last = True
    hooks.checkpoint.save_optimizer = True
    cfg.log_level = 'WARNING'
    ow = cfg.optim_wrapper
    if device == 'cuda':
        ow.update(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
    else:
        ow.update(type='AutocastOptimWrapper', device_type='cpu', dtype='bfloat16')
    fake_dir = osp.join(work, 'fake_pretrained')
    fabricate_pretrained(cfg.model, fake_dir, 'mmseg')
    teachers = fabricate_teachers(cfg.model, osp.join(work, 'fake_teachers'))
    prep_s = time.monotonic() - t0
    losses: List[float] = []
    iter_times: List[float] = []

    class _Record(Hook):
        priority = 'VERY_LOW'

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self._t = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            outputs = outputs or {}
            v = outputs.get('loss')
            if v is None:
                v = sum(float(x) for k, x in outputs.items() if 'loss' in k)
            losses.append(float(v))
            iter_times.append(time.perf_counter() - self._t)

    with _env(**{PRETRAINED_DIR_ENV: fake_dir}), _fast_config_text():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(_Record())
        t1 = time.monotonic()
        runner.train()
        train_s = time.monotonic() - t1
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    ckpt = osp.join(cfg.work_dir, f'iter_{s["iters"]}.pth')
    out: Dict[str, Any] = dict(
        config=s['config'],
        dataset=kind,
        frame_hw=list(hw),
        crop_size=list(
            shrink_resolution({'crop_size': tuple(cfg.crop_size)}, s['scale'])['crop_size']
        ),
        scale=s['scale'],
        batch_size=s['batch_size'],
        iters=s['iters'],
        optim_wrapper=ow['type'],
        autocast_dtype=ow['dtype'],
        fabricated_teachers=[osp.relpath(t, work) for t in teachers],
        prepare_s=round(prep_s, 2),
        train_s=round(train_s, 2),
    )
    w = max(1, min(s['window'], len(losses) // 2))
    first, last = (sum(losses[:w]) / w, sum(losses[-w:]) / w) if losses else (math.nan, math.nan)
    out.update(
        iterations_run=len(losses),
        loss_first=losses[0] if losses else None,
        loss_last=losses[-1] if losses else None,
        window=w,
        loss_mean_first=first,
        loss_mean_last=last,
        losses_finite=bool(losses) and all(math.isfinite(v) for v in losses),
        loss_decreasing=bool(last < first),
        median_iter_s=round(sorted(iter_times)[len(iter_times) // 2], 4) if iter_times else None,
        losses_every_10=[round(v, 4) for v in losses[::10]],
    )
    out['checkpoint_written'] = osp.isfile(ckpt)
    if out['checkpoint_written']:
        t2 = time.monotonic()
        loaded = load_checkpoint_file(ckpt)
        sd = loaded['state_dict']
        own = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        out.update(
            checkpoint=osp.relpath(ckpt, work),
            checkpoint_mib=round(osp.getsize(ckpt) / 2**20, 1),
            checkpoint_tensors=len(sd),
            checkpoint_reloaded_equal=set(sd) == set(own)
            and all(torch.equal(sd[k].cpu(), own[k]) for k in own),
            reload_s=round(time.monotonic() - t2, 2),
        )
    else:
        out['checkpoint_reloaded_equal'] = False
    out['passed'] = bool(
        out['losses_finite']
        and out['checkpoint_reloaded_equal']
        and len(losses) == s['iters']
        and (out['loss_decreasing'] or s['iters'] < 20)
    )
    if s['iters'] < 20:
        out['note'] = f'{s["iters"]} iterations (dry run): loss_decreasing is not required to pass'
    del runner, model
    _free(device)
    return out


# ------------------------------------------------------------------------------------ 5. inference
def part_inference(ctx: Dict) -> Dict:
    import numpy as np
    import torch

    from crossmodal.deploy import StudentGraph, export_onnx, load_student

    from .infer import time_fn

    s = ctx['settings']['inference']
    device = ctx['device']
    size = tuple(s['size'])
    model, cfg, _, info = load_student(osp.join(ROOT, s['config']), None)
    graph = StudentGraph(model, info.mean, info.std, info.network_channel_order).eval()
    x_cpu = torch.rand(1, 3, *size) * 255.0
    out: Dict[str, Any] = dict(
        config=s['config'],
        weights='random',
        input_size=list(size),
        batch=1,
        device=device,
        warmup=s['warmup'],
        iters=s['iters'],
        params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 3),
    )
    budget = ctx['settings']['budgets']['inference']
    t_part = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = osp.join(tmp, 'student.onnx')

        def do_export():
            t0 = time.monotonic()
            export_onnx(model, info, onnx_path, input_size=size, dynamic=False)
            return dict(
                seconds=round(time.monotonic() - t0, 2),
                onnx_mib=round(osp.getsize(onnx_path) / 2**20, 2),
            )

        out['export'] = guarded(do_export, budget, 'onnx export')
        with torch.inference_mode():
            ref = graph(x_cpu).numpy()
        g = graph.to(device)
        x = x_cpu.to(device)

        def timed(fn):
            def call():
                fn()
                _sync(device)

            return call

        def eager():
            def f():
                with torch.inference_mode():
                    g(x)

            return time_fn(timed(f), s['warmup'], s['iters'])

        out['torch_eager'] = guarded(eager, budget, 'eager')

        def ort(provider, iters):
            def f():
                import onnxruntime as ortm

                from crossmodal_runtime import OnnxBackend

                if 'error' in out['export']:
                    raise RuntimeError('no ONNX graph: the export failed')
                available = ortm.get_available_providers()
                if provider not in available:
                    return dict(
                        skipped=f'{provider} not available in onnxruntime {ortm.__version__} '
                        f'(providers: {available}; the CUDA provider needs the '
                        f'onnxruntime-gpu wheel)',
                        available_providers=available,
                    )
                providers = [provider] + (
                    ['CPUExecutionProvider'] if provider != 'CPUExecutionProvider' else []
                )
                backend = OnnxBackend(onnx_path, providers=providers)
                used = backend.session.get_providers()
                xn = x_cpu.numpy()
                r = time_fn(lambda: backend(xn), s['warmup'], iters)
                r.update(
                    providers=used,
                    version=ortm.__version__,
                    max_abs_diff_vs_eager=float(np.abs(backend(xn) - ref).max()),
                    note='numpy input and output: host<->device copies included',
                )
                return r

            return f

        out['onnxruntime_cuda'] = guarded(
            ort('CUDAExecutionProvider', s['iters']), budget, 'onnxruntime cuda'
        )
        out['onnxruntime_cpu'] = guarded(
            ort('CPUExecutionProvider', s['ort_cpu_iters']), budget, 'onnxruntime cpu'
        )

        def compiled():
            t0 = time.monotonic()
            c = torch.compile(g, backend=s['compile_backend'])
            with torch.inference_mode():
                y = c(x)
            _sync(device)
            first = time.monotonic() - t0

            def f():
                with torch.inference_mode():
                    c(x)

            r = time_fn(timed(f), s['warmup'], s['iters'])
            r.update(
                backend=s['compile_backend'],
                compile_and_first_call_s=round(first, 2),
                max_abs_diff_vs_eager=float((y.float().cpu() - torch.from_numpy(ref)).abs().max()),
            )
            return r

        # last: inductor compiles for tens of seconds; it gets what is left of the part's cap
        out['torch_compile'] = guarded(
            compiled, max(1.0, budget - (time.monotonic() - t_part) - 2), 'torch.compile'
        )
    # drop the references (the closures above share g and model) before freeing the device
    g = graph = model = None
    _free(device)
    return out


PART_FUNCTIONS: Dict[str, Callable[[Dict], Dict]] = {
    'environment': part_environment,
    'kernels': part_kernels,
    'train_throughput': part_train_throughput,
    'smoke': part_smoke,
    'inference': part_inference,
}


# ------------------------------------------------------------------------------------ driver
def find_errors(obj, path: str = '') -> List[str]:
    """Paths of every ``error`` entry in a result (nested sub-results included)."""
    found = []
    if isinstance(obj, dict):
        if 'error' in obj:
            found.append(path or '<root>')
        for k, v in obj.items():
            if k != 'error':
                found.extend(find_errors(v, f'{path}.{k}' if path else k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found.extend(find_errors(v, f'{path}[{i}]'))
    return found


def run_check(
    dry_run: bool = False,
    parts=PARTS,
    work_dir: Optional[str] = None,
    total_budget: float = TOTAL_BUDGET_S,
) -> Dict[str, Any]:
    started = time.time()
    t0 = time.monotonic()
    own_tmp = None
    if work_dir is None:
        own_tmp = tempfile.TemporaryDirectory(prefix='gpu_check_')
        work_dir = own_tmp.name
    settings = SETTINGS['dry' if dry_run else 'full']
    ctx = dict(dry_run=dry_run, device=_device(dry_run), settings=settings, work_dir=work_dir)
    result: Dict[str, Any] = {
        'gpu_check': dict(
            version=1,
            dry_run=dry_run,
            device=ctx['device'],
            parts=list(parts),
            started=time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(started)),
            total_budget_s=total_budget,
            budgets_s={p: settings['budgets'][p] for p in parts},
        )
    }
    try:
        for name in parts:
            left = total_budget - (time.monotonic() - t0)
            if left < MIN_START_S:
                result[name] = {
                    'error': f'skipped: total budget spent ({left:.0f} s left of {total_budget} s)',
                    'traceback_tail': '',
                    'seconds': 0.0,
                }
                continue
            cap = min(settings['budgets'][name], left)
            result[name] = guarded(lambda name=name: PART_FUNCTIONS[name](ctx), cap, name)
            print(
                f'gpu_check: {name} done in {result[name]["seconds"]} s',
                file=sys.stderr,
                flush=True,
            )
    finally:
        if own_tmp is not None:
            own_tmp.cleanup()
    errors = find_errors({k: v for k, v in result.items() if k != 'gpu_check'})
    result['gpu_check'].update(
        total_seconds=round(time.monotonic() - t0, 2),
        parts_failed=sorted({e.split('.')[0] for e in errors}),
        errors=errors,
    )
    return result


@contextlib.contextmanager
def stdout_to_stderr():
    """Everything written to fd 1 (mmengine's logger, subprocesses, C code) goes to stderr, so
    stdout holds only the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield os.fdopen(os.dup(saved), 'w')
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dry-run', action='store_true', help='every part at tiny size on the CPU')
    p.add_argument('--out', default=None, help='also write the JSON to this file')
    p.add_argument('--parts', nargs='+', default=list(PARTS), choices=PARTS)
    p.add_argument(
        '--work-dir', default=None, help='keep the smoke run\'s files here (default: a temp dir)'
    )
    p.add_argument('--total-budget', type=float, default=TOTAL_BUDGET_S)
    args = p.parse_args(argv)
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    with stdout_to_stderr() as real_stdout:
        result = run_check(args.dry_run, args.parts, args.work_dir, args.total_budget)
        text = json.dumps(result, indent=2, default=str)
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text + '\n')
        real_stdout.write(text + '\n')
        real_stdout.flush()
        real_stdout.close()
    return 0 if not result['gpu_check']['errors'] else 1


if __name__ == '__main__':
    sys.exit(main())
