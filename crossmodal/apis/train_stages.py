"""Multi-stage training recipes (e.g. GKD's two stages, MST-Distill's three): the logic behind
``tools/train_stages.py`` (its CLI is there).

The recipe config holds only ``stages``, run in order::

    stages = [
        dict(name='stage1', config='gkd-stage1_....py'),            # relative to the recipe file
        dict(name='stage2', config='gkd-stage2_....py', load_from='stage1',
             cfg_options=dict(...)),                                # optional per-stage overrides
    ]

Each stage trains with ``tools/train.py`` semantics in ``<work_dir>/<name>``. ``load_from`` naming
an earlier stage loads that stage's last checkpoint: for a DistillSegmentor checkpoint only the
student is kept (teachers, connectors and QSD modules dropped, written to
``<work_dir>/<prev>/student_init.pth`` with the ``student.`` prefix of the next distiller); any
other value is a checkpoint path. ``load_mode='all'`` (default ``'student'``) keeps *every* weight
of the earlier stage's checkpoint (teachers, MaskNets, gates: MST-Distill's stages); the next
stage's model must then have exactly the same state-dict keys and shapes, checked before training
(``ValueError`` listing differences). ``--cfg-options``, ``--amp``, ``--auto-scale-lr`` and
``--launcher`` apply to every stage, with tools/train.py's meaning. ``--stages`` runs a subset
(earlier stages' outputs must exist). Prints a JSON summary with each stage's last checkpoint and
writes it to ``<work_dir>/stages_summary.json``.

Distributed (``--launcher pytorch``, e.g. via tools/dist_train_stages.sh): every rank runs every
stage; rank 0 alone does the bookkeeping (resolving the previous stage's last checkpoint, writing
``student_init.pth`` and the summary) and broadcasts the paths, so all ranks load the same file.
"""

import json
import os
import os.path as osp

from crossmodal.utils import checkpoints
from crossmodal.utils.runner_setup import (
    apply_train_args,
    load_run_config,
    log_batch_summary,
    on_main_process,
    setup_distributed,
)

__all__ = [
    'last_checkpoint',
    'student_init_checkpoint',
    'check_all_weights',
    'resolve_stage_config',
    'stage_config',
    'resolve_load_from',
    'write_summary',
    'run_recipe',
]


def last_checkpoint(work_dir: str) -> str:
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'stage output not found: {marker} (did the stage run?)')
    with open(marker) as f:
        path = f.read().strip()
    if not osp.isfile(path):
        raise FileNotFoundError(f'{marker} names {path}, which does not exist')
    return path


def student_init_checkpoint(ckpt_path: str, out_path: str) -> str:
    """Write the student weights of ``ckpt_path`` as a ``student.``-prefixed checkpoint."""
    import torch

    from crossmodal.models.distill.export import STUDENT_PREFIX, extract_student_state_dict

    ckpt = checkpoints.load(ckpt_path)
    sd = ckpt.get('state_dict', ckpt)
    if any(k.startswith(STUDENT_PREFIX) for k in sd):
        state = checkpoints.add_prefix(extract_student_state_dict(ckpt), STUDENT_PREFIX)
    else:  # a stock student checkpoint: prefix it for the next DistillSegmentor
        state = checkpoints.add_prefix(sd, STUDENT_PREFIX)
    torch.save({'state_dict': state, 'meta': {'student_of': ckpt_path}}, out_path)
    return out_path


def check_all_weights(model, ckpt_path: str, stage: str) -> None:
    """Raise ``ValueError`` unless ``ckpt_path`` holds exactly ``model``'s state-dict
    keys/shapes."""
    sd = checkpoints.state_dict_of(checkpoints.load(ckpt_path), ckpt_path)
    own = (model.module if hasattr(model, 'module') else model).state_dict()
    missing, unexpected, shape = checkpoints.state_dict_differences(own, sd)
    if missing or unexpected or shape:
        raise ValueError(
            f'stage {stage}: load_mode="all" needs the checkpoint {ckpt_path} to hold '
            f'every weight of the model: missing {missing[:8]}, unexpected '
            f'{unexpected[:8]}, shape mismatches {shape[:8]}'
        )


def resolve_stage_config(recipe_path: str, path: str) -> str:
    for cand in (osp.join(osp.dirname(osp.abspath(recipe_path)), path), path):
        if osp.isfile(cand):
            return cand
    raise FileNotFoundError(
        f'{recipe_path}: stage config {path} not found (relative to the recipe '
        f'file or the current directory)'
    )


def stage_config(args, recipe_path: str, stage: dict, stage_dir: str):
    """The config of one stage: its file, the stage's then the command line's ``--cfg-options``,
    ``--launcher``, ``--amp`` / ``--auto-scale-lr``, its work dir; ``load_from`` is set by
    :func:`resolve_load_from`."""
    cfg_path = resolve_stage_config(recipe_path, stage['config'])
    options = dict(stage.get('cfg_options') or {})
    options.update(args.cfg_options or {})
    cfg = load_run_config(cfg_path, options, stage_dir, args.launcher)
    apply_train_args(cfg, args)
    cfg.resume = False
    if cfg.get('visualizer'):  # one visualizer instance per stage (mmengine keys them by name)
        cfg.visualizer['name'] = f"{cfg.visualizer.get('name', 'visualizer')}_{stage['name']}"
    return cfg


def resolve_load_from(stage: dict, index: int, names: list, root: str) -> str:
    """The checkpoint a stage starts from (``load_from`` naming an earlier stage or a file); may
    write ``<root>/<prev>/student_init.pth``: call it on rank 0 only (:func:`on_main_process`)."""
    name, src = stage['name'], stage['load_from']
    if src in names:
        if names.index(src) >= index:
            raise ValueError(f'stage {name}: load_from={src!r} must name an earlier stage')
        prev_dir = osp.join(root, src)
        if stage.get('load_mode', 'student') == 'all':
            return osp.abspath(last_checkpoint(prev_dir))
        return osp.abspath(
            student_init_checkpoint(
                last_checkpoint(prev_dir), osp.join(prev_dir, 'student_init.pth')
            )
        )
    if not osp.isfile(src):
        raise FileNotFoundError(
            f'stage {name}: load_from {src} is neither an earlier stage ({names}) nor a file'
        )
    return src


def write_summary(root: str, summary: dict) -> str:
    path = osp.join(root, 'stages_summary.json')
    os.makedirs(root, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(summary, f, indent=2)
    return path


def run_recipe(args) -> dict:
    """Run the stages of ``args.config`` (a parsed ``tools/train_stages.py`` command line:
    ``config``, ``work_dir``, ``stages``, ``cfg_options``, ``launcher``, ``amp``,
    ``auto_scale_lr``); returns the summary (see the module docstring)."""
    from mmengine.config import Config

    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    recipe = Config.fromfile(args.config)
    stages = recipe.get('stages')
    if not stages:
        raise ValueError(f'{args.config}: no `stages` list')
    names = [s['name'] for s in stages]
    if len(set(names)) != len(names):
        raise ValueError(f'{args.config}: stage names must be unique, got {names}')
    if args.stages:
        unknown = [s for s in args.stages if s not in names]
        if unknown:
            raise ValueError(f'unknown stages {unknown}; the recipe has {names}')
    for stage in stages:
        load_mode = stage.get('load_mode', 'student')
        if load_mode not in ('student', 'all'):
            raise ValueError(
                f"stage {stage['name']}: load_mode must be 'student' or 'all', got {load_mode!r}"
            )
    root = args.work_dir or osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    import crossmodal

    crossmodal.register_all_modules(init_default_scope=False)
    from mmengine.dist import is_main_process
    from mmengine.runner import Runner

    summary = {}
    for i, stage in enumerate(stages):
        name = stage['name']
        stage_dir = osp.join(root, name)
        if args.stages and name not in args.stages:
            continue
        cfg = stage_config(args, args.config, stage, stage_dir)
        # the process group exists from the first stage on: rank 0's bookkeeping is broadcast
        setup_distributed(cfg, init_now=True)
        src = stage.get('load_from')
        if src:
            cfg.load_from = on_main_process(lambda: resolve_load_from(stage, i, names, root))
        os.makedirs(stage_dir, exist_ok=True)
        runner = Runner.from_cfg(cfg)
        log_batch_summary(runner.cfg, runner.world_size)
        if src and stage.get('load_mode', 'student') == 'all':
            check_all_weights(runner.model, cfg.load_from, name)
        runner.train()
        # rank 0 writes `last_checkpoint`: read it there, after training, and share the path
        summary[name] = dict(
            config=resolve_stage_config(args.config, stage['config']),
            work_dir=stage_dir,
            load_from=cfg.load_from,
            checkpoint=on_main_process(lambda: last_checkpoint(stage_dir)),
        )
        del runner
    if is_main_process():
        write_summary(root, summary)
        print(json.dumps(summary, indent=2))
    return summary
