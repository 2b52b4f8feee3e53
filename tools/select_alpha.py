#!/usr/bin/env python
"""Choose the DHO mix weight alpha of a trained student on the validation split (one pass).

    python tools/select_alpha.py <config> <checkpoint> [--split val|test]
        [--alphas 0 0.25 0.5 0.75 1] [--data-root DIR] [--device cpu] [--no-progress] [--out F]
        [--cfg-options k=v ...]

The config is a distillation config (``DistillSegmentor``) or a plain student config whose
(student's) decode head is a ``DualHeadSegformerHead``; the checkpoint is the run's (loaded
strictly; a work dir: its best checkpoint, else the latest). One pass over the split's dataloader
(``val_dataloader`` or ``test_dataloader``, the config's test-style pipeline) keeps both heads'
logits and scores every alpha (``alpha * label_head + (1 - alpha) * kd_head``) with mmseg's IoU
(crossmodal/evaluation/head_mix.py). The teachers are not run: their checkpoint files are not
needed (their weights come with the distillation checkpoint); a teacher-cache run
(``model.teacher_cache``) needs its cache directory, as for tools/test.py.

Prints JSON: ``mIoU`` per alpha (percent), ``best_alpha``, ``best_mIoU``, ``num_samples``,
``config_alpha`` (the head's alpha in the config) and its mIoU when on the grid. Use the best alpha
with ``tools/export.py <config> <ckpt> --alpha A`` or set ``decode_head.alpha`` in the config.
"""

import argparse
import json
import os
import os.path as osp
import sys
import warnings

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import crossmodal  # noqa: E402,F401  (compat layer first)
from crossmodal.utils.runner_setup import DictAction  # noqa: E402


def parse_args(argv=None):
    from crossmodal.evaluation.head_mix import DEFAULT_ALPHAS

    p = argparse.ArgumentParser(description='Choose the DHO mix weight alpha on a split')
    p.add_argument('config', help='the config the checkpoint was trained with')
    p.add_argument('checkpoint', help='checkpoint file, or a training work dir')
    p.add_argument(
        '--split', choices=['val', 'test'], default='val', help='dataloader (default: val)'
    )
    p.add_argument(
        '--alphas',
        type=float,
        nargs='+',
        default=list(DEFAULT_ALPHAS),
        help='grid of label-head weights in [0, 1] (default: %(default)s)',
    )
    p.add_argument('--data-root', default=None, help="override the split's dataset data_root")
    p.add_argument('--device', default='cpu', help='cpu or cuda')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    p.add_argument('--out', help='also write the JSON summary to this file')
    p.add_argument('--cfg-options', nargs='+', action=DictAction, help='k=v config overrides')
    return p.parse_args(argv)


def build_model(cfg, checkpoint: str, config_path: str, device: str = 'cpu'):
    """The config's model with ``checkpoint`` loaded strictly (eval mode). An online distiller's
    teachers are built without their checkpoint files (random weights, then the distillation
    checkpoint's ``teachers.*``)."""
    import copy

    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    from crossmodal.utils import checkpoints
    from crossmodal.utils.checkpoint_kind import check_checkpoint_matches

    model_cfg = copy.deepcopy(cfg.model)
    teachers = model_cfg.get('teachers') if hasattr(model_cfg, 'get') else None
    if isinstance(teachers, dict) and not model_cfg.get('teacher_cache'):
        for spec in teachers.values():
            spec['checkpoint'] = None
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='teacher .* has no checkpoint')
        model = MODELS.build(model_cfg)
    sd = checkpoints.state_dict_of(checkpoints.load(checkpoint), checkpoint)
    check_checkpoint_matches(model, sd, checkpoint, config_path, tool='test')
    model.load_state_dict(sd, strict=True)
    return model.to(device).eval()


def build_dataloader(cfg, split: str, data_root=None):
    """The config's ``<split>_dataloader`` (``data_root`` overridden when given)."""
    import copy

    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    key = f'{split}_dataloader'
    loader = cfg.get(key)
    if loader is None:
        raise ValueError(f'{getattr(cfg, "filename", "config")}: no {key}')
    loader = copy.deepcopy(loader)
    if data_root:
        loader['dataset']['data_root'] = data_root
    with DefaultScope.overwrite_default_scope('mmseg'):
        return Runner.build_dataloader(loader)


def _ignore_index(cfg, split: str) -> int:
    ev = cfg.get(f'{split}_evaluator') or {}
    ev = ev[0] if isinstance(ev, (list, tuple)) and ev else ev
    return int(ev.get('ignore_index', 255)) if hasattr(ev, 'get') else 255


def main(argv=None) -> dict:
    args = parse_args(argv)
    from mmengine.config import Config

    from crossmodal.evaluation.head_mix import alpha_sweep_summary, dual_head_student, sweep_alpha
    from crossmodal.utils.checkpoint_paths import resolve_trained_checkpoint

    if not osp.isfile(args.config):
        raise SystemExit(f'config file not found: {args.config}')
    crossmodal.register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint = resolve_trained_checkpoint(args.checkpoint, 'tools/select_alpha.py')
    model = build_model(cfg, checkpoint, args.config, args.device)
    _, head = dual_head_student(model)
    loader = build_dataloader(cfg, args.split, args.data_root)
    res = sweep_alpha(
        model,
        loader,
        alphas=args.alphas,
        ignore_index=_ignore_index(cfg, args.split),
        progress=not args.no_progress,
    )
    summary = dict(
        config=args.config,
        checkpoint=checkpoint,
        split=args.split,
        **alpha_sweep_summary(res, config_alpha=head.alpha),
    )
    print(json.dumps(summary, indent=2))
    if args.out:
        os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=2)
    return summary


if __name__ == '__main__':
    from crossmodal.utils.checkpoint_kind import CheckpointMismatchError

    try:
        main()
    except (CheckpointMismatchError, ValueError) as e:  # wrong pairing, not a DHO student, ...
        print(f'error: {e}', file=sys.stderr)
        sys.exit(2)
