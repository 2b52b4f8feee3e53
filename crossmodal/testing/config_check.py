"""Check a real-dataset config before a long GPU run (``tools/check_config.py``).

:func:`check_config` builds the config's model the way the Runner does, reports which checkpoint
every MiT backbone loaded through ``model.init_weights()`` and how many of its tensors equal the
checkpoint's, then trains a few iterations and validates with mmengine's Runner on a generated
stand-in dataset in the dataset converter's layout (``data_prep/fixtures.py`` frames converted by
the real converter; the forest rasters by :mod:`crossmodal.datasets.lidar.synthetic`). Each
dataloader gets the stand-in of its own ``data_root`` (:func:`standin_plan`: a label-free
distillation config trains on an unlabelled pool, ``msrs``, and tests on MFNet). A config without
validation (``val_dataloader`` None, e.g. the unlabelled-pool configs) runs its test loop instead.

Offline, ``fake_weights=True`` writes random checkpoints with the real names, key formats and shapes
(:mod:`crossmodal.testing.fake_weights`) into a folder searched before torch's hub cache, and
``fake_teachers=True`` writes a random trained-teacher checkpoint where the config expects the
teacher, so the whole loading path runs without any download. ``scale`` < 1 shrinks frames, crops
and pad sizes (the test suite runs every real config at 1/8 resolution).

Needs the repository checkout (``data_prep`` is not part of the installed package).
"""

from __future__ import annotations

import copy
import glob
import math
import os
import os.path as osp
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import torch

#: Frame size (H, W) of each benchmark as its converter writes it (SUN RGB-D: the Kinect v1 frames;
#: the stand-in's other sensors are scaled alike, up to 27/24 of it, as the real 427x561-531x681).
REAL_FRAME_HW: Dict[str, Tuple[int, int]] = {
    'nyudv2': (480, 640),
    'sunrgbd': (427, 561),
    'mfnet': (480, 640),
    'pst900': (720, 1280),
    'fmb': (600, 800),
    'forest': (512, 512),
    'msrs': (480, 640),  # an unlabelled RGB-T pool (data_prep/paired_frames.py), MFNet's frame size
}
#: stand-in writers that are not the kind's own converter (``data_prep/fixtures.py`` WRITERS key)
_STANDIN_FIXTURE = {'msrs': 'paired_frames'}
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')

#: Model keys whose value may be another config (path or dict) that builds a sub-model.
_NESTED_MODEL_KEYS = ('student', 'teacher')
_TEACHER_PREFIXES = ('teachers.', 'teacher.')


# ---------------------------------------------------------------------------------- listing
def list_real_configs(config_dir: str = 'configs') -> List[str]:
    """Every runnable config for a real dataset: not under ``_base_``, not on the embedded synthetic
    data, with a ``model`` (multi-stage recipe files, which list ``stages``, are left out)."""
    out = []
    for path in sorted(glob.glob(osp.join(config_dir, '**', '*.py'), recursive=True)):
        rel = osp.relpath(path, config_dir)
        if rel.startswith('_base_') or 'synthetic' in osp.basename(path):
            continue
        with open(path) as f:
            text = f.read()
        if '\nstages = [' in text or text.startswith('stages = ['):
            continue
        out.append(path)
    return out


def loader_kind(dataset_cfg) -> str:
    """Which benchmark a dataloader's dataset config reads, from its ``data_root``."""
    root = str(dataset_cfg.get('data_root', '')).lower()
    for kind in ('nyudv2', 'sunrgbd', 'mfnet', 'pst900', 'fmb', 'forest', 'msrs'):
        if kind in root.replace('-', '').replace('_', ''):
            return kind
    raise ValueError(
        f'cannot tell the benchmark of data_root={root!r} (one of {sorted(REAL_FRAME_HW)})'
    )


def dataset_parts(dataset_cfg) -> List[Tuple[str, dict]]:
    """``[(suffix, dataset config that reads files)]`` of a dataloader's dataset: itself
    (suffix ``''``), or the parts of a wrapper (``MixedLabelDataset``: ``'.labelled'``,
    ``'.unlabelled'``, each with the wrapper's ``data_root`` when it sets one)."""
    if dataset_cfg.get('type') == 'MixedLabelDataset':
        root = dataset_cfg.get('data_root')
        return [
            (f'.{name}', dict(dataset_cfg[name], **({'data_root': root} if root else {})))
            for name in ('labelled', 'unlabelled')
        ]
    return [('', dataset_cfg)]


def dataset_kind(cfg) -> str:
    """Which benchmark a config trains on, from its train ``data_root`` (a mixed dataset's
    labelled part)."""
    return loader_kind(dataset_parts(cfg.train_dataloader.dataset)[0][1])


def _scaled_hw(kind: str, scale: float) -> Tuple[int, int]:
    return tuple(_scaled(v, scale) if scale != 1 else v for v in REAL_FRAME_HW[kind])


def standin_plan(cfg, base_dir: str, scale: float = 1.0) -> Dict[str, Tuple[str, tuple, str]]:
    """``{dataloader key: (kind, frame (H, W), stand-in root)}`` of every dataloader of ``cfg``
    (read before :func:`prepare_config` rewrites the roots): each reads the stand-in of its own
    benchmark, ``<base_dir>/standin_<kind>_<H>x<W>``."""
    plan = {}
    for key in _LOADERS:
        dl = cfg.get(key)
        if dl is None:
            continue
        for suffix, part in dataset_parts(dl.dataset):  # `train_dataloader.unlabelled`, ...
            kind = loader_kind(part)
            hw = _scaled_hw(kind, scale)
            plan[key + suffix] = (kind, hw, osp.join(base_dir, f'standin_{kind}_{hw[0]}x{hw[1]}'))
    return plan


def _load_config(config: str, cfg_options: Optional[dict] = None):
    from mmengine.config import Config

    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


# ---------------------------------------------------------------------------------- nested models
def inline_model_configs(model: dict) -> dict:
    """``model`` with every sub-model given by path (``student``, ``teacher``,
    ``teachers.*.config``, ``models.*``) replaced by its model dict, so it can be inspected and
    changed."""
    from crossmodal.models.distill.distill_segmentor import model_config

    model = copy.deepcopy(dict(model))
    for key in _NESTED_MODEL_KEYS:
        v = model.get(key)
        if isinstance(v, str) or (isinstance(v, dict) and 'type' in v):
            model[key] = inline_model_configs(_plain(model_config(v, key)))
    for name, spec in dict(model.get('teachers') or {}).items():
        spec = dict(spec)
        spec['config'] = inline_model_configs(
            _plain(model_config(spec['config'], f'teacher {name}'))
        )
        model['teachers'][name] = spec
    if isinstance(model.get('models'), dict) and model.get('type') == 'CroDiNoKD':
        model['models'] = {
            n: inline_model_configs(_plain(model_config(v, n))) for n, v in model['models'].items()
        }
    return model


def _plain(cfg) -> dict:
    return cfg.to_dict() if hasattr(cfg, 'to_dict') else dict(cfg)


def teacher_checkpoint_slots(model: dict) -> List[Tuple[str, dict, str]]:
    """``(cfg_key, teacher model dict, checkpoint path)`` of every trained teacher the model
    loads."""
    slots = []
    for name, spec in dict(model.get('teachers') or {}).items():
        if spec.get('checkpoint'):
            slots.append((f'model.teachers.{name}.checkpoint', spec['config'], spec['checkpoint']))
    if model.get('teacher_checkpoint') and isinstance(model.get('teacher'), dict):
        slots.append(('model.teacher_checkpoint', model['teacher'], model['teacher_checkpoint']))
    return slots


def _walk(obj) -> Iterator[dict]:
    if isinstance(obj, dict):
        yield obj
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _walk(v)


def pretrained_sources(model: dict) -> Dict[str, dict]:
    """``{checkpoint: backbone dict}`` of every ``PretrainedMiT`` init (or MiT
    ``pretrained_path``)."""
    out = {}
    for d in _walk(model):
        init = d.get('init_cfg')
        if (
            isinstance(init, dict)
            and init.get('type') in ('PretrainedMiT', 'Pretrained')
            and init.get('checkpoint')
        ):
            out.setdefault(init['checkpoint'], d)
        if d.get('pretrained_path'):
            out.setdefault(d['pretrained_path'], d)
    return out


# ---------------------------------------------------------------------------------- fabrication
def fabricate_pretrained(model: dict, out_dir: str, fmt: str = 'mmseg') -> Dict[str, str]:
    """Write a random RGB MiT checkpoint (``fmt``: 'mmseg' or 'nvlabs' keys) for every pretrained
    source of ``model`` into ``out_dir`` under the URL's file name. Returns
    ``{checkpoint: file}``."""
    from .fake_weights import rgb_mit_state, write_fake_mit_checkpoint

    files = {}
    for i, (ckpt, backbone) in enumerate(sorted(pretrained_sources(model).items())):
        path = osp.join(out_dir, osp.basename(ckpt.split('?')[0]))
        if not osp.isfile(path):
            write_fake_mit_checkpoint(path, rgb_mit_state(backbone, seed=100 + i), fmt)
        files[ckpt] = path
    return files


def fabricate_teachers(model: dict, under: str, seed: int = 0) -> List[str]:
    """Write a random checkpoint of every trained teacher the model loads and point the config at
    it (in place): ``under/<hash of the teacher config>/best_mIoU_iter_1.pth``, a work dir as the
    shipped configs name, so the work-dir resolution runs too. A teacher config met before reuses
    its file. Returns the checkpoint files used."""
    import hashlib
    import json
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    used = []
    for key, teacher, _ in teacher_checkpoint_slots(model):
        digest = hashlib.sha1(
            json.dumps(teacher, sort_keys=True, default=str).encode()
        ).hexdigest()[:12]
        work = osp.join(under, digest)
        target = osp.join(work, 'best_mIoU_iter_1.pth')
        _set_key(model, key[len('model.') :], work)
        used.append(target)
        if osp.isfile(target):
            continue
        t = copy.deepcopy(teacher)
        for d in _walk(t):  # a random teacher: no ImageNet download for it
            if isinstance(d.get('init_cfg'), dict) and d['init_cfg'].get('type') in (
                'PretrainedMiT',
                'Pretrained',
            ):
                d['init_cfg'] = None
            d.pop('pretrained_path', None)
        with torch.random.fork_rng(devices=[]), DefaultScope.overwrite_default_scope('mmseg'):
            torch.manual_seed(seed)
            net = MODELS.build(t)
        os.makedirs(work, exist_ok=True)
        torch.save(
            {'state_dict': net.state_dict(), 'meta': {'fabricated': True}}, target + '.partial'
        )
        os.replace(target + '.partial', target)
    return used


def _set_key(model: dict, dotted: str, value) -> None:
    d = model
    parts = dotted.split('.')
    for p in parts[:-1]:
        d = d[p]
    d[parts[-1]] = value


def write_standin_dataset(
    kind: str, root: str, hw: Tuple[int, int], n_train: int = 2, n_test: int = 2
) -> str:
    """A tiny dataset of benchmark ``kind`` at frame size ``hw`` in its converter's layout."""
    if osp.isfile(osp.join(root, 'meta.json')):
        return root
    if kind == 'forest':
        from crossmodal.datasets.lidar.rasterize import RasterParams
        from crossmodal.datasets.lidar.synthetic import (
            SyntheticForestConfig,
            write_synthetic_forest,
        )

        tile = max(32, int(hw[0]) // 2 * 2)
        write_synthetic_forest(
            root,
            SyntheticForestConfig(size_px=2 * tile, pulse_density=2.0),
            tile_size=tile,
            cell_multiple=2,
            params=RasterParams(),
            progress=False,
            test_fraction=0.25,
        )
        return root
    from data_prep.fixtures import convert_fixture

    kw = dict(hw=tuple(int(v) for v in hw))
    if kind == 'msrs':  # one unlabelled split
        kw['n'] = n_train + n_test
    elif kind == 'nyudv2':
        kw['n'] = n_train + n_test
    elif kind == 'sunrgbd':
        kw.update(n_train=n_train, n_test=n_test)
    elif kind == 'mfnet':
        kw.update(n_train=n_train, n_val=n_test, n_test=n_test)
    else:
        kw.update(n_train=n_train, n_test=n_test)
    convert_fixture(
        _STANDIN_FIXTURE.get(kind, kind), osp.join(root + '_raw'), root, fixture_kwargs=kw
    )
    return root


# ---------------------------------------------------------------------------------- shrinking
def _scaled(v, scale):
    return max(16, int(math.ceil(v * scale / 16.0)) * 16)


def shrink_resolution(obj, scale: float):
    """Scale every crop/pad/resize size in a config tree (``crop_size``, ``size``, ``stride``,
    ``Resize`` height/width) by ``scale``, rounded up to multiples of 16 px. In place."""
    if scale == 1:
        return obj
    for d in _walk(obj):
        for key in ('crop_size', 'size', 'stride'):
            v = d.get(key)
            if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, int) for x in v):
                d[key] = type(v)(_scaled(x, scale) for x in v)
        if d.get('type') == 'Resize' and isinstance(d.get('height'), int):
            d['height'], d['width'] = _scaled(d['height'], scale), _scaled(d['width'], scale)
    return obj


# ---------------------------------------------------------------------------------- verification
def pretrained_table(model: torch.nn.Module) -> List[dict]:
    """One row per MiT backbone: its path, what initialised it and how many tensors equal the file.

    Rows: ``dict(module, source, checkpoint, file, format, in_channels, adapted, equal, total)``;
    ``source`` is ``'pretrained'``, ``'teacher checkpoint'`` (a frozen teacher's backbone) or
    ``'random'`` (nothing loaded: the row the checks fail on).
    """
    from crossmodal.compat import load_checkpoint_file
    from crossmodal.models.backbones.adapt import adapt_input_conv
    from crossmodal.models.backbones.pretrained import (
        PATCH_EMBED_KEY,
        mit_state_dict,
        pretrained_reports,
    )

    rows, cache = [], {}
    for name, report in pretrained_reports(model).items():
        module = model.get_submodule(name)
        own = module.state_dict()
        row = dict(
            module=name,
            total=len(own),
            equal=0,
            checkpoint=None,
            file=None,
            format=None,
            in_channels=int(own[PATCH_EMBED_KEY].shape[1]) if PATCH_EMBED_KEY in own else None,
            adapted=False,
        )
        if report is None:
            row['source'] = 'teacher checkpoint' if name.startswith(_TEACHER_PREFIXES) else 'random'
            rows.append(row)
            continue
        if report['file'] not in cache:
            cache[report['file']] = mit_state_dict(load_checkpoint_file(report['file']))
        ref = dict(cache[report['file']])
        if PATCH_EMBED_KEY in ref and PATCH_EMBED_KEY in own:
            ref[PATCH_EMBED_KEY] = adapt_input_conv(
                ref[PATCH_EMBED_KEY], own[PATCH_EMBED_KEY].shape[1]
            )
        row.update(
            source='pretrained',
            checkpoint=report['checkpoint'],
            file=report['file'],
            format=report['format'],
            adapted=report['adapted'],
            equal=sum(
                1
                for k, v in own.items()
                if k in ref and ref[k].shape == v.shape and torch.equal(ref[k].to(v.dtype), v)
            ),
        )
        rows.append(row)
    return rows


@contextmanager
def _env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update({k: v for k, v in values.items() if v is not None})
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def _fast_config_text():
    """The Runner formats the config with yapf several times (logs, dump); with the sub-model
    configs inlined that costs more than a short run itself, so a check uses a plain repr."""
    from pprint import pformat
    from mmengine.config import Config

    old = Config.pretty_text
    Config.pretty_text = property(lambda self: pformat(self.to_dict(), width=100))
    try:
        yield
    finally:
        Config.pretty_text = old


# ---------------------------------------------------------------------------------- the check
def prepare_config(
    config: str,
    work_dir: str,
    scale: float = 1.0,
    iters: int = 2,
    data_root: Optional[str] = None,
    batch_size: int = 2,
    cfg_options: Optional[dict] = None,
    standin_dir: Optional[str] = None,
):
    # batch_size 2: BatchNorm in the heads needs more than one value per channel in training
    """The config as a short Runner job on a stand-in dataset (returns ``(cfg, kind, frame_hw)``
    of the training data). ``data_root``: one root for every dataloader; default: each dataloader
    the stand-in of its own benchmark under ``standin_dir`` (default ``work_dir``;
    :func:`standin_plan`), written by :func:`write_standin_dataset`."""
    cfg = _load_config(config, cfg_options)
    kind = dataset_kind(cfg)
    hw = _scaled_hw(kind, scale)
    plan = standin_plan(cfg, standin_dir or work_dir, scale)
    model = inline_model_configs(cfg.model.to_dict())
    shrink_resolution(model, scale)
    cfg.model = model
    for key in _LOADERS:
        dl = cfg.get(key)
        if dl is None:
            continue
        if dl.dataset.get('type') == 'MixedLabelDataset':
            dl.dataset.data_root = None  # each part its own stand-in
            parts = [(f'.{n}', dl.dataset[n]) for n in ('labelled', 'unlabelled')]
            dl.batch_sampler.labelled_per_batch = batch_size // 2
        else:
            parts = [('', dl.dataset)]
        for suffix, part in parts:
            part.data_root = data_root or plan[key + suffix][2]
            shrink_resolution(part.pipeline, scale)
        dl.num_workers = 0
        dl.persistent_workers = False
        if key == 'train_dataloader':
            dl.batch_size = batch_size
    cfg.train_cfg.max_iters = iters
    if cfg.get('val_dataloader') is not None:
        cfg.train_cfg.val_interval = iters
    hooks = cfg.default_hooks
    hooks.logger.interval = 1
    # a check writes no checkpoint (saving a B2/B5 model is most of a short run's time)
    hooks.checkpoint.interval = -1
    hooks.checkpoint.save_last = False
    hooks.checkpoint.save_best = None
    cfg.work_dir = work_dir
    cfg.launcher = 'none'
    from crossmodal.utils.runner_setup import resolve_work_dir_paths

    resolve_work_dir_paths(cfg)
    return cfg, kind, hw


def check_config(
    config: str,
    work_dir: str,
    *,
    scale: float = 1.0,
    iters: int = 2,
    fake_weights: bool = False,
    fake_teachers: bool = False,
    weight_format: str = 'mmseg',
    cfg_options: Optional[dict] = None,
    train: bool = True,
    log_level: str = 'WARNING',
    shared_dir: Optional[str] = None,
    cross_check_format: Optional[str] = None,
) -> dict:
    """Build ``config``, load its pretrained weights through ``model.init_weights()``, train
    ``iters`` iterations and validate on a stand-in dataset (a config without validation: its
    test loop, when it has one). Returns a JSON-able report::

        dict(config, dataset, frame_hw, backbones=[pretrained_table rows], all_pretrained,
             losses={name: value of the last iteration}, losses_finite, metrics={...},
             evaluated_on='val' | 'test' | None, seconds)

    ``cross_check_format`` (with ``fake_weights``): after ``init_weights()`` loaded the
    ``weight_format`` files, every pretrained backbone is loaded again from the same random weights
    written in this other key format (by the same ``PretrainedMiT`` initializer) and must come out
    identical (``report['cross_format_equal']``).

    ``shared_dir`` holds the stand-in datasets and fake weights reused across calls (default:
    ``work_dir``). Raises whatever the real run would raise (a missing checkpoint, a crash in a
    transform, ...).
    """
    import crossmodal  # noqa: F401  (registries, compat)
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    config = osp.abspath(config)
    work_dir = osp.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    t0 = time.time()
    shared_dir = osp.abspath(shared_dir or work_dir)
    cfg, kind, hw = prepare_config(
        config, work_dir, scale, iters, cfg_options=cfg_options, standin_dir=shared_dir
    )
    for key, (k, k_hw, root) in standin_plan(
        _load_config(config, cfg_options), shared_dir, scale
    ).items():
        write_standin_dataset(k, root, k_hw)
    cfg.log_level = log_level
    env = {}
    if fake_weights:
        fake_dir = osp.join(shared_dir, f'fake_pretrained_{weight_format}')
        fabricate_pretrained(cfg.model, fake_dir, weight_format)
        from crossmodal.models.backbones.pretrained import PRETRAINED_DIR_ENV

        env[PRETRAINED_DIR_ENV] = fake_dir
    report = dict(config=config, dataset=kind, frame_hw=list(hw), scale=scale)
    captured = {}

    class _Inspect(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner):  # after model.init_weights(), before any step
            model = runner.model.module if hasattr(runner.model, 'module') else runner.model
            captured['backbones'] = pretrained_table(model)
            if cross_check_format:
                captured['cross_format_equal'] = _cross_check(
                    model, cfg.model, cross_check_format, shared_dir
                )

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            captured['losses'] = {
                k: float(v)
                for k, v in (outputs or {}).items()
                if torch.is_tensor(v) and v.numel() == 1
            }

        def after_val_epoch(self, runner, metrics=None):
            captured['evaluated_on'] = 'val'
            captured['metrics'] = {
                k: (float(v) if isinstance(v, (int, float)) else v)
                for k, v in (metrics or {}).items()
            }

        def after_test_epoch(self, runner, metrics=None):
            self.after_val_epoch(runner, metrics)
            captured['evaluated_on'] = 'test'

    if fake_teachers:
        report['fabricated_teachers'] = fabricate_teachers(
            cfg.model, osp.join(shared_dir, 'fake_teachers')
        )
    with _env(**env), _fast_config_text():
        runner = Runner.from_cfg(cfg)
        runner.register_hook(_Inspect())
        if train:
            runner.train()
            if cfg.get('val_dataloader') is None and cfg.get('test_dataloader') is not None:
                runner.test()  # no validation (an unlabelled training pool): test instead
        else:
            runner._init_model_weights()
            captured['backbones'] = pretrained_table(runner.model)
            if cross_check_format:
                captured['cross_format_equal'] = _cross_check(
                    runner.model, cfg.model, cross_check_format, shared_dir
                )
    rows = captured.get('backbones', [])
    report['backbones'] = rows
    report['all_pretrained'] = bool(rows) and all(
        r['source'] == 'teacher checkpoint'
        or (r['source'] == 'pretrained' and r['equal'] == r['total'])
        for r in rows
    )
    if cross_check_format:
        report['cross_format_equal'] = captured.get('cross_format_equal', False)
    losses = captured.get('losses', {})
    report['losses'] = losses
    report['losses_finite'] = bool(losses) and all(math.isfinite(v) for v in losses.values())
    report['metrics'] = captured.get('metrics', {})
    report['evaluated_on'] = captured.get('evaluated_on')
    report['seconds'] = round(time.time() - t0, 1)
    return report


def _cross_check(model, model_cfg: dict, fmt: str, shared_dir: str) -> bool:
    """Reload every pretrained backbone from the ``fmt`` copy of its fake file; unchanged?"""
    from crossmodal.models.backbones.pretrained import PretrainedMiTInit, pretrained_reports

    files = fabricate_pretrained(model_cfg, osp.join(shared_dir, f'fake_pretrained_{fmt}'), fmt)
    ok = True
    for name, report in pretrained_reports(model).items():
        if report is None:
            continue
        module = model.get_submodule(name)
        before = {k: v.clone() for k, v in module.state_dict().items()}
        PretrainedMiTInit(files[report['checkpoint']])(module)
        after = module.state_dict()
        ok &= (
            all(torch.equal(before[k], after[k]) for k in before)
            and module.pretrained_report['format'] == fmt
        )
        module.pretrained_report = report
    return ok


def format_report(report: dict) -> str:
    """Human-readable summary of :func:`check_config`'s report."""
    lines = [
        f'{report["config"]}  ({report["dataset"]}, '
        f'frames {report["frame_hw"][0]}x{report["frame_hw"][1]})',
        'backbone                               source              tensors  in_ch  checkpoint',
    ]
    for r in report['backbones']:
        ck = osp.basename(r['file']) + f' [{r["format"]}]' if r['file'] else '-'
        lines.append(
            f'  {r["module"]:<36} {r["source"]:<18} {r["equal"]:>4}/{r["total"]:<4} '
            f'{str(r["in_channels"]):>4}   {ck}'
        )
    lines.append(f'every trainable backbone pretrained: {report["all_pretrained"]}')
    if report['losses']:
        lines.append(
            'last iteration: '
            + ', '.join(f'{k}={v:.4g}' for k, v in report['losses'].items() if 'loss' in k)
        )
    if report['metrics']:
        shown = {k: v for k, v in report['metrics'].items() if isinstance(v, float)}
        what = 'test (no validation)' if report.get('evaluated_on') == 'test' else 'validation'
        lines.append(f'{what}: ' + ', '.join(f'{k}={v:.4g}' for k, v in list(shown.items())[:8]))
    lines.append(f'{report["seconds"]} s')
    return '\n'.join(lines)
