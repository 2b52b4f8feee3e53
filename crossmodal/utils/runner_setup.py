"""Shared set-up of ``tools/train.py``, ``tools/train_stages.py`` and ``tools/test.py``: config
loading, CLI overrides, the reliability hooks every config gets (:func:`install_reliability_hooks`),
distributed launch on CPU (gloo) or GPU (mmengine's NCCL path), mixed precision, learning-rate
scaling by the global batch."""

from __future__ import annotations

import logging
import os
import os.path as osp
from typing import Any, Callable, Optional, Tuple

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)
from mmengine.logging import print_log


def add_runner_args(parser) -> None:
    """The options tools/train.py and tools/test.py share (mmseg's names)."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=100',
    )
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def add_train_args(parser) -> None:
    """The options of the training tools (tools/train.py, tools/train_stages.py): ``--amp``,
    ``--auto-scale-lr`` and :func:`add_runner_args`."""
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision (fp16 on CUDA, bf16 on CPU)'
    )
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by global batch / auto_scale_lr.base_batch_size '
        '(global batch = train_dataloader.batch_size x number of processes)',
    )
    add_runner_args(parser)


def apply_train_args(cfg: Config, args) -> None:
    """Apply ``--amp`` and ``--auto-scale-lr`` (see :func:`add_train_args`) to a loaded config."""
    if getattr(args, 'amp', False):
        enable_amp(cfg)
    if getattr(args, 'auto_scale_lr', False):
        enable_auto_scale_lr(cfg)


def parse_runner_args(parser, argv=None):
    """Parse, and export LOCAL_RANK for launchers that pass --local-rank instead of the env."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_run_config(
    path: str,
    cfg_options: Optional[dict] = None,
    work_dir: Optional[str] = None,
    launcher: str = 'none',
) -> Config:
    """Load the config of a tool run (train / test / train_stages / demo) and prepare it for the
    run.

    Applies ``--cfg-options``, the launcher, the work dir (default ``work_dirs/<name>``), replaces
    ``{work_dir}`` in evaluator output paths, installs the reliability hooks and, for a
    ``model.teacher_cache``, checks the training data against the cache and gives the train
    pipeline its ``LoadTeacherCache`` (:mod:`crossmodal.teacher_cache.run_config`).
    (Not to be confused with :func:`crossmodal.deploy.student.load_config`, which only turns a
    path / dict / Config into a Config.)
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(path))[0])
    resolve_work_dir_paths(cfg)
    install_reliability_hooks(cfg)
    from crossmodal.teacher_cache.run_config import setup_teacher_cache

    setup_teacher_cache(cfg)  # model.teacher_cache: dataset check, LoadTeacherCache in the pipeline
    return cfg


def _hook_type(hook: Any) -> Any:
    t = hook.get('type') if isinstance(hook, dict) else type(hook)
    return t if isinstance(t, str) else getattr(t, '__name__', t)


def install_reliability_hooks(cfg: Config) -> None:
    """Give every config loaded by the tools crossmodal's reliability hooks (crossmodal/engine):

    - ``FiniteLossHook`` in ``custom_hooks`` unless the config has one (its own, e.g.
      ``dict(type='FiniteLossHook', action='skip')``, is kept): many configs replace the
      ``custom_hooks`` of ``default_runtime.py`` and would otherwise lose it;
    - ``default_hooks.checkpoint`` of type ``CheckpointHook`` becomes ``SafeCheckpointHook``
      (same options; atomic writes, cleanup after the new file is complete). Another checkpoint
      hook type is left as the config says.
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(_hook_type(h) == 'FiniteLossHook' for h in hooks):
        hooks.append(dict(type='FiniteLossHook'))
        cfg.custom_hooks = hooks
    ckpt = (cfg.get('default_hooks', None) or {}).get('checkpoint', None)
    if isinstance(ckpt, dict) and _hook_type(ckpt) == 'CheckpointHook':
        ckpt['type'] = 'SafeCheckpointHook'


def resolve_work_dir_paths(cfg: Config) -> None:
    """Replace ``{work_dir}`` in the evaluators' ``out_dir`` (e.g. ``RegressionMetric`` plots) by
    the run's work dir, so configs can put outputs under it without knowing it."""
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg.get(key, None)
        if ev is None:
            continue
        items = (
            ev
            if isinstance(ev, (list, tuple))
            else ev.get('metrics', [ev])
            if isinstance(ev, dict)
            else []
        )
        if isinstance(items, dict):
            items = [items]
        for item in items:
            if (
                isinstance(item, dict)
                and isinstance(item.get('out_dir'), str)
                and '{work_dir}' in item['out_dir']
            ):
                item['out_dir'] = item['out_dir'].replace('{work_dir}', str(cfg.work_dir))


def setup_distributed(cfg: Config, init_now: bool = False) -> None:
    """Prepare a ``--launcher pytorch`` run.

    On GPUs mmengine's own ``init_dist`` (NCCL) is used unchanged: by the Runner, or here when
    ``init_now`` (tools/train_stages.py needs the process group before the first Runner exists, to
    share rank 0's stage bookkeeping). On CPU-only machines
    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and fails, so the gloo process
    group is initialised here from torchrun's environment before the Runner is built (the
    Runner then sees an initialised group and skips its own), and DDP is wrapped without
    device ids.
    """
    if cfg.launcher == 'none':
        return
    import torch.distributed as dist

    if torch.cuda.is_available():
        if init_now and not dist.is_initialized():
            from mmengine.dist import init_dist

            init_dist(cfg.launcher, **dict(cfg.get('env_cfg', {}).get('dist_cfg', {})))
        return
    if not dist.is_initialized():
        for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
            if var not in os.environ:
                raise RuntimeError(
                    f'--launcher {cfg.launcher} needs torchrun\'s environment '
                    f'({var} is not set); start with tools/dist_train.sh'
                )
        dist.init_process_group(backend='gloo')
    cfg.env_cfg = cfg.get('env_cfg', {})
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False
    )


def enable_amp(cfg: Config) -> None:
    """``--amp``: fp16 with a dynamic loss scale on CUDA, bfloat16 autocast on CPU."""
    ow = cfg.optim_wrapper
    if ow.get('type', 'OptimWrapper') in ('AmpOptimWrapper', 'CPUBF16OptimWrapper'):
        print_log('AMP is already enabled in the config', logger='current')
        return
    if torch.cuda.is_available():
        ow.type = 'AmpOptimWrapper'
        ow.loss_scale = 'dynamic'
    else:
        # mmengine's AmpOptimWrapper refuses CPUs; bf16 autocast needs no loss scaling
        ow.type = 'CPUBF16OptimWrapper'
        print_log('--amp on CPU: CPUBF16OptimWrapper (bfloat16 autocast)', logger='current')


def enable_auto_scale_lr(cfg: Config) -> None:
    """``--auto-scale-lr``: turn on mmengine's ``auto_scale_lr``; the Runner then multiplies every
    learning rate by (``train_dataloader.batch_size`` x world size) / ``base_batch_size``."""
    asl = cfg.get('auto_scale_lr', None) or {}
    if 'base_batch_size' not in asl:
        raise ValueError(
            '--auto-scale-lr: the config sets no auto_scale_lr.base_batch_size (the global '
            'batch its learning rate was tuned for); add `auto_scale_lr = dict(enable=False, '
            'base_batch_size=N)` to it or pass --cfg-options auto_scale_lr.base_batch_size=N'
        )
    asl = dict(asl)
    asl['enable'] = True
    cfg.auto_scale_lr = asl


def batch_summary(cfg: Config, world_size: int) -> Tuple[str, bool]:
    """One line on the batch of a training run, and whether it deserves a warning.

    ``batch_size`` in the configs is per process, so N processes train with N times the batch the
    recipe was written for (``auto_scale_lr.base_batch_size``) unless the LR is scaled: warn then.
    """
    bs = int(cfg.train_dataloader.get('batch_size', 1))
    gb = bs * world_size
    asl = cfg.get('auto_scale_lr', None) or {}
    base = asl.get('base_batch_size')
    enabled = bool(asl.get('enable', False)) and base is not None
    procs = 'process' if world_size == 1 else 'processes'
    msg = f'Batch: {bs} per process x {world_size} {procs} = global batch {gb}; '
    if enabled:
        msg += f'LR scaled by {gb}/{base} = {gb / base:g} (auto_scale_lr on)'
    else:
        recipe = (
            f'recipe written for {base}' if base is not None else 'no auto_scale_lr.base_batch_size'
        )
        msg += f'LR not scaled (auto_scale_lr off; {recipe})'
    warn = world_size > 1 and not enabled and gb != base
    if warn:
        recipe = (
            f'the recipe was written for {base}'
            if base is not None
            else 'the config sets no auto_scale_lr.base_batch_size'
        )
        msg += (
            f'. WARNING: global batch {gb} = {world_size} x {bs}; {recipe}; pass --auto-scale-lr '
            f'or lower train_dataloader.batch_size'
        )
    return msg, warn


def log_batch_summary(cfg: Config, world_size: int) -> None:
    """Log :func:`batch_summary` (at WARNING level when it warns) if the config trains."""
    if cfg.get('train_dataloader', None) is None:
        return
    msg, warn = batch_summary(cfg, world_size)
    print_log(msg, logger='current', level=logging.WARNING if warn else logging.INFO)


def on_main_process(fn: Callable[[], Any]) -> Any:
    """Run ``fn`` on rank 0 only and return its result on every rank (broadcast), so that file
    writes happen once and all ranks agree on the result. An exception on rank 0 is raised on
    every rank. Without a process group ``fn`` simply runs."""
    from mmengine.dist import broadcast_object_list, get_rank, is_distributed

    if not is_distributed():
        return fn()
    box: list = [None]
    error = None
    if get_rank() == 0:
        try:
            box = [('ok', fn())]
        except Exception as e:  # noqa: BLE001  (re-raised below, on every rank)
            error = e
            box = [('error', f'{type(e).__name__}: {e}')]
    broadcast_object_list(box, src=0)
    status, value = box[0]
    if status == 'error':
        if error is not None:
            raise error
        raise RuntimeError(f'rank 0 failed: {value}')
    return value
