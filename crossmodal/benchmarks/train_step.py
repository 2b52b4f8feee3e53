"""train-step: cost of a distillation step vs a student-only step plus a teacher forward.

    python tools/benchmark.py train-step --config configs/distill/kd/<cfg>.py [--iters 10]
        [--precision fp32 amp] [--device cuda] [--synthetic] [--scale 0.25] [--batch-size 2]

For one batch (the config's train dataloader, or a random batch of the crop size with
``--synthetic`` / when the data is absent) it times, as medians over ``--iters`` runs after
``--warmup`` runs:

* ``student_step_ms``: the stock student's ``train_step`` (its own pre-processor, forward, backward,
  optimizer step) on the RGB part of the batch;
* ``teacher_forward_ms``: each teacher's forward (eval, ``no_grad``) on its routed inputs, summed;
* ``distill_step_ms``: the ``DistillSegmentor.train_step`` on the full batch (pre-processing,
  routing, teacher forward, student forward/backward, distillation losses, optimizer step).

An ``RTFDNet`` config (self-distillation: no separate teacher) maps to the same three numbers:
the student is its RGB stream as the stock SegFormer ``tools/export_branch.py`` exports, the
"teacher forward" is the RTFDNet forward (both streams, fusion, three heads) under ``no_grad``,
the "distillation step" is the RTFDNet ``train_step`` (three heads' CE + CMDR + RDR).

The three are timed in turn, round after round (interleaved), so load changes on a shared machine
affect them alike. ``ratio = distill_step_ms / (student_step_ms + teacher_forward_ms)``: the
distiller's overhead over the unavoidable work (goal <= 1.10). Each is also reported as images/s
and peak memory (``peak_mib``: one untimed run after resetting the counter; CUDA:
``max_memory_allocated``, weights and optimizer state included; CPU: the process' RSS high-water
mark VmHWM after a reset, an upper bound). Models are built from the config with random weights
(a teacher checkpoint, a file or a work dir as the configs name it, that is not found is replaced
by random weights, reported as ``teacher_weights``;
timing does not depend on them).

``--precision``: ``fp32`` and/or ``amp`` (CUDA: fp16 autocast + GradScaler, mmengine's
``AmpOptimWrapper``; CPU: bf16 autocast), each timed on the same models; the results are under
``results[<precision>]`` and the first precision's numbers are repeated at the top level.
``--scale`` shrinks the crop and every size in the model config (as ``tools/check_config.py``).

``--teacher-cache <dir>`` (a cache ``tools/cache_teacher.py`` made from this config) also builds the
distiller with ``model.teacher_cache=<dir>`` (no teacher) and times its step on the same batch of
the train dataloader (real data: the cached maps are looked up by sample), interleaved with the
online step: ``cached_step_ms``, ``online_step_ms`` (= ``distill_step_ms``) and ``cached_ratio =
cached_step_ms / online_step_ms`` per precision (the first precision's at the top level), plus
``pipeline_ms_per_sample`` of the online and the cached train pipeline (loading, cache lookup,
augmentation: the work the dataloader workers do), medians over the batch's samples.
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import statistics
import time
from typing import Callable, Dict, Optional, Sequence

__all__ = ['add_arguments', 'run', 'measure', 'load_cfg']


def add_arguments(parser) -> None:
    parser.add_argument('--config', required=True, help='a DistillSegmentor or RTFDNet config')
    parser.add_argument('--iters', type=int, default=10, help='timed repetitions (median)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed repetitions first')
    parser.add_argument(
        '--batch-size',
        type=int,
        default=None,
        help='batch size (default: the config train dataloader\'s)',
    )
    parser.add_argument(
        '--synthetic',
        action='store_true',
        help='random batch of the crop size instead of the train dataloader',
    )
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument(
        '--precision',
        nargs='+',
        default=['fp32'],
        choices=['fp32', 'amp'],
        help='fp32 and/or amp (CUDA fp16 + GradScaler, CPU bf16 autocast)',
    )
    parser.add_argument(
        '--scale',
        type=float,
        default=1.0,
        help='shrink crop and model sizes by this factor (implies --synthetic)',
    )
    parser.add_argument('--cfg-options', nargs='+', default=None, help='k=v config overrides')
    parser.add_argument(
        '--teacher-cache',
        default=None,
        help='a teacher cache of this config (tools/cache_teacher.py): also time the step that '
        'trains from it (no teacher) against the online step',
    )


def _interleaved_medians_ms(fns, iters: int, warmup: int, sync):
    """Median wall time (ms) of each function; the functions are timed in turn, round after round,
    so that a change of machine load during the run affects all of them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times = [[] for _ in fns]
    for _ in range(iters):
        for i, fn in enumerate(fns):
            sync()
            t0 = time.perf_counter()
            fn()
            sync()
            times[i].append((time.perf_counter() - t0) * 1e3)
    return [statistics.median(t) for t in times]


def peak_mib(fn: Callable[[], object], device) -> float:
    """Peak memory (MiB) of one call of ``fn``: CUDA ``max_memory_allocated`` after a reset
    (everything allocated, weights included); CPU the RSS high-water mark after a reset."""
    import torch

    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        fn()
        torch.cuda.synchronize()
        return round(torch.cuda.max_memory_allocated() / 2**20, 1)
    from .kernels import _peak_rss_bytes, _reset_peak_rss

    ok = _reset_peak_rss()
    fn()
    return round(_peak_rss_bytes(ok) / 2**20, 1)


def _random_batch(crop, batch_size: int, modalities, num_classes: int):
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample

    crop = tuple(int(v) for v in crop)
    from crossmodal.modalities import MODALITY_CHANNELS as channels

    inputs, samples = [], []
    g = torch.Generator().manual_seed(0)
    for _ in range(batch_size):
        item = {}
        for m in modalities:
            if m == 'rgb':
                item[m] = torch.randint(0, 256, (3,) + crop, generator=g, dtype=torch.uint8)
            else:
                item[m] = torch.rand((channels.get(m, 1),) + crop, generator=g) * 255
        inputs.append(item)
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1,) + crop, generator=g))
        s.set_metainfo(dict(img_shape=crop, ori_shape=crop, pad_shape=crop))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def load_cfg(config: str, cfg_options: Optional[Sequence[str]] = None):
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        opts = {}
        for kv in cfg_options:
            k, v = kv.split('=', 1)
            try:
                v = eval(v, {}, {})  # numbers, tuples, booleans
            except Exception:
                pass
            opts[k] = v
        cfg.merge_from_dict(opts)
    return cfg


def run(args) -> dict:
    cfg = load_cfg(args.config, args.cfg_options)
    return measure(
        cfg,
        config=args.config,
        iters=args.iters,
        warmup=args.warmup,
        batch_size=args.batch_size,
        synthetic=args.synthetic or args.scale != 1,
        device=args.device,
        precisions=args.precision,
        scale=args.scale,
        teacher_cache=args.teacher_cache,
    )


def _loader_batch(cfg, bs: int):
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    dl_cfg = copy.deepcopy(cfg.train_dataloader)
    dl_cfg.batch_size = bs
    dl_cfg.num_workers = 0
    dl_cfg.persistent_workers = False
    import logging

    from mmengine.logging import MMLogger

    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.ERROR)  # mmengine logs to stdout: keep stdout pure JSON
    try:
        with DefaultScope.overwrite_default_scope('mmseg'):
            return next(iter(Runner.build_dataloader(dl_cfg, seed=0)))
    finally:
        logger.setLevel(level)


def _split_items(batch):
    items = batch['inputs']
    if isinstance(items, dict):  # pseudo_collate: {name: [per-sample tensors]}
        items = [dict(zip(items, vals)) for vals in zip(*items.values())]
    return items


def measure(
    cfg,
    *,
    config: str = '<config>',
    iters: int = 10,
    warmup: int = 3,
    batch_size: Optional[int] = None,
    synthetic: bool = True,
    device: str = 'cpu',
    precisions: Sequence[str] = ('fp32',),
    scale: float = 1.0,
    teacher_cache: Optional[str] = None,
) -> dict:
    """Build the config's models once and time the three steps (four with ``teacher_cache``)
    for every precision."""
    import warnings

    import torch

    import crossmodal
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    from crossmodal.models.distill.distill_segmentor import model_config
    from crossmodal.testing.config_check import inline_model_configs, shrink_resolution

    from .amp import autocast, make_optim_wrapper

    crossmodal.register_all_modules(init_default_scope=False)
    cfg = copy.deepcopy(cfg)
    mcfg = inline_model_configs(
        cfg.model.to_dict() if hasattr(cfg.model, 'to_dict') else dict(cfg.model)
    )
    crop = list(cfg.get('crop_size', (128, 160)))
    if scale != 1:
        shrink_resolution(mcfg, scale)
        crop = shrink_resolution({'crop_size': tuple(crop)}, scale)['crop_size']
    kind = mcfg.get('type')
    if kind not in ('DistillSegmentor', 'RTFDNet'):
        raise ValueError(f'{config}: model.type must be DistillSegmentor or RTFDNet, got {kind!r}')
    mcfg.pop('teacher_cache', None)  # the online distiller; the cached one is built below
    cache_cfg = None
    if teacher_cache:
        if kind != 'DistillSegmentor':
            raise ValueError(f'{config}: --teacher-cache needs a DistillSegmentor config')
        if synthetic or scale != 1:
            raise ValueError(
                '--teacher-cache times real batches of the train dataloader (the cached maps are '
                'looked up by sample): drop --synthetic / --scale'
            )
        from crossmodal.teacher_cache.run_config import setup_teacher_cache

        cache_cfg = copy.deepcopy(cfg)
        cache_cfg.model.teacher_cache = teacher_cache
        setup_teacher_cache(cache_cfg)  # dataset check + LoadTeacherCache in the train pipeline
    from crossmodal.utils.checkpoint_paths import resolve_trained_checkpoint

    weights = {}
    for name, spec in (mcfg.get('teachers') or {}).items():
        ckpt = spec.get('checkpoint')
        try:  # a file, or a teacher work dir as the shipped configs name it
            ckpt = resolve_trained_checkpoint(ckpt) if ckpt else None
        except FileNotFoundError:
            ckpt = None
        if ckpt:
            spec['checkpoint'] = ckpt
            weights[name] = ckpt
        else:
            spec['checkpoint'] = None
            weights[name] = f'random (checkpoint {ckpt!r} not found)'
    dev = torch.device(device)
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        distiller = MODELS.build(copy.deepcopy(mcfg)).to(dev)
        cached = None
        if cache_cfg is not None:
            cached = MODELS.build(dict(copy.deepcopy(mcfg), teacher_cache=teacher_cache)).to(dev)
            cached.train()
        if kind == 'DistillSegmentor':
            student = MODELS.build(model_config(mcfg['student'], 'student')).to(dev)
        else:
            from mmengine.config import Config

            from crossmodal.models.methods.rtfdnet.export import stock_config

            s_cfg = stock_config(Config(dict(model=mcfg)), 'rgb').model
            s_cfg.data_preprocessor['size'] = tuple(crop)  # training pads to the crop (test: none)
            student = MODELS.build(s_cfg).to(dev)
            weights = {'rtfdnet': 'random (self-distillation: no separate teacher)'}
    distiller.train()
    student.train()

    bs = batch_size or cfg.train_dataloader.get('batch_size', 2)
    if kind == 'DistillSegmentor':
        s_mods = tuple(distiller.student_modalities)
        all_mods = tuple(
            dict.fromkeys(
                list(s_mods)
                + [m for spec in distiller.teacher_specs.values() for m in spec['modalities']]
            )
        )
    else:
        s_mods = (distiller.modalities[0],)
        all_mods = tuple(distiller.modalities)
    source = 'train_dataloader'
    root = cfg.train_dataloader.dataset.get('data_root', '')
    if cache_cfg is not None:
        batch = _loader_batch(cache_cfg, bs)  # + the cached maps; the online step ignores them
    elif synthetic or not osp.isdir(root):
        source = 'synthetic'
        batch = _random_batch(crop, bs, all_mods, student.decode_head.num_classes)
    else:
        batch = _loader_batch(cfg, bs)
    # the student-only batch: its modalities concatenated, as PackMultiModalInputs(stack=True)
    items = _split_items(batch)
    student_batch = dict(
        inputs=[
            torch.cat([item[m].float() if len(s_mods) > 1 else item[m] for m in s_mods], 0)
            for item in items
        ],
        data_samples=batch['data_samples'],
    )

    def sync():
        if dev.type == 'cuda':
            torch.cuda.synchronize()

    data = distiller.data_preprocessor(copy.deepcopy(batch), True)
    if kind == 'DistillSegmentor':
        t_inputs = {n: distiller.teacher_inputs(n, data['inputs']) for n in distiller.teachers}

        def teacher_forward_fp32():
            with torch.no_grad():
                for n, t in distiller.teachers.items():
                    t._forward(t_inputs[n])
    else:

        def teacher_forward_fp32():
            with torch.no_grad():
                distiller._forward(data['inputs'])

    results: Dict[str, dict] = {}
    for precision in precisions:
        s_ow = make_optim_wrapper(
            [p for p in student.parameters() if p.requires_grad], device, precision
        )
        d_ow = make_optim_wrapper(
            [p for p in distiller.parameters() if p.requires_grad], device, precision
        )

        def teacher_forward(precision=precision):
            with autocast(device, precision):
                teacher_forward_fp32()

        fns = [
            lambda: student.train_step(student_batch, s_ow),
            teacher_forward,
            lambda: distiller.train_step(batch, d_ow),
        ]
        if cached is not None:
            c_ow = make_optim_wrapper(
                [p for p in cached.parameters() if p.requires_grad], device, precision
            )
            fns.append(lambda c_ow=c_ow: cached.train_step(batch, c_ow))
        peaks = [peak_mib(fn, dev) for fn in fns]  # also a first (warm-up) run of each
        medians = _interleaved_medians_ms(fns, iters, max(0, warmup - 1), sync)
        student_ms, teacher_ms, distill_ms = medians[:3]
        res = dict(
            student_step_ms=round(student_ms, 3),
            teacher_forward_ms=round(teacher_ms, 3),
            distill_step_ms=round(distill_ms, 3),
            ratio=round(distill_ms / (student_ms + teacher_ms), 4),
        )
        for key, ms, peak in zip(
            ('student_step', 'teacher_forward', 'distill_step'),
            (student_ms, teacher_ms, distill_ms),
            peaks,
        ):
            res[f'{key}_images_per_s'] = round(bs * 1000.0 / ms, 2)
            res[f'{key}_peak_mib'] = peak
        if cached is not None:
            res.update(
                online_step_ms=round(distill_ms, 3),
                cached_step_ms=round(medians[3], 3),
                cached_ratio=round(medians[3] / distill_ms, 4),
                cached_step_images_per_s=round(bs * 1000.0 / medians[3], 2),
                cached_step_peak_mib=peaks[3],
            )
        if precision == 'amp':
            from .amp import amp_dtype

            res['autocast_dtype'] = amp_dtype(device)
            scaler = getattr(d_ow, 'loss_scaler', None)
            res['grad_scaler'] = scaler is not None
        results[precision] = res
        # drop the wrappers (the lambdas in fns share them) before emptying the cache
        s_ow = d_ow = None
        if dev.type == 'cuda':
            torch.cuda.empty_cache()
    shape = {m: list(data['inputs'][m].shape) for m in data['inputs']}
    out = dict(
        benchmark='train-step',
        config=config,
        model_type=kind,
        device=str(dev),
        torch_threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        batch_source=source,
        batch_size=bs,
        scale=scale,
        batch_shapes=shape,
        teacher_weights=weights,
        losses=[s['name'] for s in distiller.loss_specs]
        if kind == 'DistillSegmentor'
        else sorted(k for k in ('loss_cmdr_feat', 'loss_cmdr_logit', 'loss_rdr')),
        iters=iters,
        warmup=warmup,
        precisions=list(precisions),
        results=results,
        goal_ratio=1.10,
    )
    first = results[list(precisions)[0]]
    out.update(
        {k: first[k] for k in ('student_step_ms', 'teacher_forward_ms', 'distill_step_ms', 'ratio')}
    )
    if cached is not None:
        out.update({k: first[k] for k in ('online_step_ms', 'cached_step_ms', 'cached_ratio')})
        out['teacher_cache'] = dict(
            cache=teacher_cache,
            losses=[s['name'] for s in cached.loss_specs],
            pipeline_ms_per_sample=dict(
                online=_pipeline_ms(cfg, bs), cached=_pipeline_ms(cache_cfg, bs)
            ),
        )
    return out


def _pipeline_ms(cfg, n: int) -> float:
    """Median time (ms) of one sample of the train dataset's pipeline (file loading, cache
    lookup, augmentation), over its first ``n`` samples (after one untimed sample)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    with DefaultScope.overwrite_default_scope('mmseg'):
        ds = DATASETS.build(copy.deepcopy(cfg.train_dataloader.dataset))
    ds[0]
    times = []
    for i in range(min(n, len(ds))):
        t0 = time.perf_counter()
        ds[i]
        times.append((time.perf_counter() - t0) * 1e3)
    return round(statistics.median(times), 3)
