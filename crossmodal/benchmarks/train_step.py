"""train-step: cost of a distillation step vs a student-only step plus a teacher forward.

    python tools/benchmark.py train-step --config configs/distill/kd/<cfg>.py [--iters 10]

For one batch (the config's train dataloader, or a random batch of the crop size with
``--synthetic`` / when the data is absent) it times, as medians over ``--iters`` runs after
``--warmup`` runs:

* ``student_step_ms``: the stock student's ``train_step`` (its own pre-processor, forward, backward,
  optimizer step) on the RGB part of the batch;
* ``teacher_forward_ms``: each teacher's forward (eval, ``no_grad``) on its routed inputs, summed;
* ``distill_step_ms``: the ``DistillSegmentor.train_step`` on the full batch (pre-processing,
  routing, teacher forward, student forward/backward, distillation losses, optimizer step).

The three are timed in turn, round after round (interleaved), so load changes on a shared machine
affect them alike. ``ratio = distill_step_ms / (student_step_ms + teacher_forward_ms)``: the distiller's overhead over
the unavoidable work (goal <= 1.10). A teacher checkpoint missing on disk is replaced by random
weights (timing does not depend on them; reported as ``teacher_weights``).
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import statistics
import time


def add_arguments(parser) -> None:
    parser.add_argument('--config', required=True, help='a DistillSegmentor config')
    parser.add_argument('--iters', type=int, default=10, help='timed repetitions (median)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed repetitions first')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='batch size (default: the config train dataloader\'s)')
    parser.add_argument('--synthetic', action='store_true',
                        help='random batch of the crop size instead of the train dataloader')
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--cfg-options', nargs='+', default=None, help='k=v config overrides')


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


def _random_batch(cfg, batch_size: int, modalities, num_classes: int):
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    crop = tuple(cfg.get('crop_size', (128, 160)))
    channels = {'rgb': 3, 'hha': 3, 'depth': 1, 'thermal': 1}
    inputs, samples = [], []
    g = torch.Generator().manual_seed(0)
    for _ in range(batch_size):
        item = {}
        for m in modalities:
            if m == 'rgb':
                item[m] = torch.randint(0, 256, (3, ) + crop, generator=g, dtype=torch.uint8)
            else:
                item[m] = torch.rand((channels.get(m, 1), ) + crop, generator=g) * 255
        inputs.append(item)
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, ) + crop, generator=g))
        s.set_metainfo(dict(img_shape=crop, ori_shape=crop, pad_shape=crop))
        samples.append(s)
    return dict(inputs=inputs, data_samples=samples)


def run(args) -> dict:
    import torch
    import crossmodal
    from mmengine.config import Config
    from mmengine.optim import OptimWrapper
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    crossmodal.register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        opts = {}
        for kv in args.cfg_options:
            k, v = kv.split('=', 1)
            try:
                v = eval(v, {}, {})  # numbers, tuples, booleans
            except Exception:
                pass
            opts[k] = v
        cfg.merge_from_dict(opts)
    mcfg = copy.deepcopy(cfg.model)
    if mcfg.get('type') != 'DistillSegmentor':
        raise ValueError(f'{args.config}: model.type must be DistillSegmentor')
    weights = {}
    for name, spec in (mcfg.get('teachers') or {}).items():
        ckpt = spec.get('checkpoint')
        if ckpt and osp.isfile(ckpt):
            weights[name] = ckpt
        else:
            spec['checkpoint'] = None
            weights[name] = f'random (checkpoint {ckpt!r} not found)'
    device = torch.device(args.device)
    with DefaultScope.overwrite_default_scope('mmseg'):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            distiller = MODELS.build(mcfg).to(device)
            from crossmodal.models.distill.distill_segmentor import _model_cfg
            student = MODELS.build(_model_cfg(mcfg['student'], 'student')).to(device)
    distiller.train()
    student.train()

    bs = args.batch_size or cfg.train_dataloader.get('batch_size', 2)
    all_mods = tuple(dict.fromkeys(
        list(distiller.student_modalities)
        + [m for spec in distiller.teacher_specs.values() for m in spec['modalities']]))
    source = 'train_dataloader'
    root = cfg.train_dataloader.dataset.get('data_root', '')
    if args.synthetic or not osp.isdir(root):
        source = 'synthetic'
        batch = _random_batch(cfg, bs, all_mods, student.decode_head.num_classes)
    else:
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
                batch = next(iter(Runner.build_dataloader(dl_cfg, seed=0)))
        finally:
            logger.setLevel(level)
    # the student-only batch: its modalities concatenated, as PackMultiModalInputs(stack=True)
    s_mods = distiller.student_modalities
    items = batch['inputs']
    if isinstance(items, dict):  # pseudo_collate: {name: [per-sample tensors]}
        items = [dict(zip(items, vals)) for vals in zip(*items.values())]
    student_batch = dict(
        inputs=[torch.cat([item[m].float() if len(s_mods) > 1 else item[m] for m in s_mods], 0)
                for item in items],
        data_samples=batch['data_samples'])

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize()

    def ow(model):
        params = [p for p in model.parameters() if p.requires_grad]
        return OptimWrapper(torch.optim.AdamW(params, lr=1e-5))

    s_ow, d_ow = ow(student), ow(distiller)
    data = distiller.data_preprocessor(copy.deepcopy(batch), True)
    t_inputs = {n: distiller.teacher_inputs(n, data['inputs']) for n in distiller.teachers}

    def teacher_forward():
        with torch.no_grad():
            for n, t in distiller.teachers.items():
                t._forward(t_inputs[n])

    student_ms, teacher_ms, distill_ms = _interleaved_medians_ms(
        [lambda: student.train_step(student_batch, s_ow), teacher_forward,
         lambda: distiller.train_step(batch, d_ow)], args.iters, args.warmup, sync)
    shape = {m: list(data['inputs'][m].shape) for m in data['inputs']}
    return dict(
        benchmark='train-step',
        config=args.config,
        device=str(device),
        torch_threads=torch.get_num_threads(),
        omp_num_threads=os.environ.get('OMP_NUM_THREADS'),
        batch_source=source,
        batch_shapes=shape,
        teacher_weights=weights,
        losses=[s['name'] for s in distiller.loss_specs],
        iters=args.iters,
        warmup=args.warmup,
        student_step_ms=round(student_ms, 3),
        teacher_forward_ms=round(teacher_ms, 3),
        distill_step_ms=round(distill_ms, 3),
        ratio=round(distill_ms / (student_ms + teacher_ms), 4),
        goal_ratio=1.10,
    )
