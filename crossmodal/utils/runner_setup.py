"""Shared set-up of ``tools/train.py`` and ``tools/test.py``: config loading, CLI overrides,
distributed launch on CPU (gloo) or GPU (mmengine's NCCL path), mixed precision."""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

import torch
from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for tools)
from mmengine.logging import print_log


def add_runner_args(parser) -> None:
    """The options tools/train.py and tools/test.py share (mmseg's names)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser, argv=None):
    """Parse, and export LOCAL_RANK for launchers that pass --local-rank instead of the env."""
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(path: str, cfg_options: Optional[dict] = None, work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Load a config, apply ``--cfg-options`` and the work dir (default ``work_dirs/<name>``)."""
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
    return cfg


def setup_distributed(cfg: Config) -> None:
    """Prepare a ``--launcher pytorch`` run.

    On GPUs mmengine's own ``init_dist`` (NCCL) is used unchanged. On CPU-only machines
    mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` and fails, so the gloo process
    group is initialised here from torchrun's environment before the Runner is built (the
    Runner then sees an initialised group and skips its own), and DDP is wrapped without
    device ids.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    import torch.distributed as dist
    if not dist.is_initialized():
        for var in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
            if var not in os.environ:
                raise RuntimeError(f'--launcher {cfg.launcher} needs torchrun\'s environment '
                                   f'({var} is not set); start with tools/dist_train.sh')
        dist.init_process_group(backend='gloo')
    cfg.env_cfg = cfg.get('env_cfg', {})
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None,
                                 broadcast_buffers=False)


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
