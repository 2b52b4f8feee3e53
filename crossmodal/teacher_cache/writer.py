"""Run a distiller's teachers once over the training split and write their top-k logits.

:func:`cache_teachers` is ``tools/cache_teacher.py``: it builds the distiller of a distillation
config exactly as training does (``model.teachers.<name>.checkpoint`` loaded strictly by
:class:`~crossmodal.models.distill.teachers.TeacherSet`, the distiller's data pre-processor and
input routing), iterates the **train** split through the config's test-style pipeline (the
``val_dataloader``'s: no augmentation, full frames), and writes one ``.npz`` per sample
(:mod:`crossmodal.teacher_cache.store`) and ``manifest.json``
(:mod:`crossmodal.teacher_cache.manifest`). Resumable: samples already written are skipped.
"""

from __future__ import annotations

import copy
import os
import os.path as osp
import time
import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

from .manifest import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    TeacherCacheError,
    config_sha256,
    dataset_identity,
    read_manifest,
    sha256_file,
    write_json_atomic,
)
from .store import index_dtype, read_sample, sample_file, write_sample

_IDENTITY_KEYS = ('dataset', 'topk', 'teachers', 'split')


def _is_logit_key(key: str) -> bool:
    return key.rsplit('.', 1)[-1] in ('values', 'indices', 'tail') and '.tap.' not in key


def _plain_cfg(obj):
    return obj.to_dict() if hasattr(obj, 'to_dict') else copy.deepcopy(obj)


def _requested_taps(taps: Optional[Sequence[str]], specs: Dict[str, dict]) -> Dict[str, list]:
    """``--taps`` names (``<teacher>.<tap>`` or ``<tap>`` for every teacher that has it) ->
    ``{teacher: [tap, ...]}``; unknown names are an error listing the teachers' taps."""
    out = {name: [] for name in specs}
    for item in taps or ():
        teacher, _, tap = item.partition('.') if '.' in item else ('', '', item)
        names = [teacher] if teacher else [n for n in specs if tap in specs[n]['taps']]
        ok = [n for n in names if n in specs and tap in specs[n]['taps']]
        if not ok:
            have = {n: sorted(s['taps']) for n, s in specs.items()}
            raise ValueError(
                f'--taps {item!r}: no teacher declares that tap (model.teachers.<name>.taps: '
                f'{have})'
            )
        for n in ok:
            if tap not in out[n]:
                out[n].append(tap)
    return out


def cache_pipeline(cfg) -> list:
    """The loading pipeline of the cache run: the config's val (else test) dataloader pipeline,
    i.e. the test-style loading of the distiller (no augmentation, full frames)."""
    for key in ('val_dataloader', 'test_dataloader'):
        dl = cfg.get(key)
        if dl and dl.get('dataset', {}).get('pipeline'):
            return [_plain_cfg(t) for t in dl['dataset']['pipeline']]
    raise ValueError('the config has no val_dataloader / test_dataloader pipeline to load with')


def build_distiller(cfg, device: str = 'cpu'):
    """The config's ``DistillSegmentor`` with its teachers built and loaded (``teacher_cache``
    removed: this is the run that makes the cache)."""
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    mcfg = _plain_cfg(cfg.model)
    if mcfg.get('type') != 'DistillSegmentor':
        raise ValueError(f'model.type must be DistillSegmentor, got {mcfg.get("type")!r}')
    mcfg.pop('teacher_cache', None)
    for name, spec in (mcfg.get('teachers') or {}).items():
        if not spec.get('checkpoint'):
            raise ValueError(
                f'teacher "{name}" has no checkpoint (model.teachers.{name}.checkpoint): caching '
                f'a randomly initialised teacher is never what you want; set it with '
                f'--cfg-options model.teachers.{name}.checkpoint=<.pth or work dir>'
            )
    with DefaultScope.overwrite_default_scope('mmseg'), warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = MODELS.build(mcfg)
    if not len(model.teachers):
        raise ValueError('the distiller has no teachers to cache')
    return model.to(device).eval(), mcfg


def _identity(cfg, mcfg, model, topk: int, taps: Dict[str, list], dataset, split: str) -> dict:
    from crossmodal.models.distill.teachers import model_config

    teachers = {}
    for name, spec in mcfg['teachers'].items():
        ckpt = model.teacher_specs[name]['checkpoint']
        t = model.teachers[name]
        num = int(t.decode_head.num_classes)
        if topk > num:
            raise ValueError(f'--topk {topk} is more than teacher "{name}"\'s {num} classes')
        teachers[name] = dict(
            config_sha256=config_sha256(model_config(spec['config'], f'teacher "{name}"')),
            checkpoint=osp.abspath(ckpt),
            checkpoint_sha256=sha256_file(ckpt),
            num_classes=num,
            modalities=list(model.teacher_specs[name]['modalities']),
            index_dtype=np.dtype(index_dtype(num)).name,
            taps={tap: dict(path=model.teachers.taps(name)[tap]) for tap in taps[name]},
        )
    return dict(
        dataset=dataset_identity(dataset.data_root, split),
        split=split,
        topk=int(topk),
        teachers=teachers,
    )


def _same_identity(a: dict, b: dict) -> Optional[str]:
    for key in _IDENTITY_KEYS:
        if a.get(key) != b.get(key):
            return key
    return None


def _byte_stats(arrays: Dict[str, np.ndarray]) -> Tuple[np.ndarray, int, int]:
    """``(shapes, bytes of every array, bytes of the sparse logits)`` of one sample's arrays."""
    return (
        arrays['shapes'],
        sum(v.nbytes for k, v in arrays.items() if k != 'shapes'),
        sum(v.nbytes for k, v in arrays.items() if _is_logit_key(k)),
    )


def cache_teachers(
    cfg,
    out: str,
    topk: int = 4,
    taps: Optional[Sequence[str]] = None,
    device: str = 'cpu',
    progress: bool = True,
    shard: Optional[Tuple[int, int]] = None,
) -> dict:
    """Write the teacher cache of ``cfg`` (an mmengine Config of a distillation run) to ``out``.

    ``shard=(i, n)``: this process computes samples ``i, i + n, i + 2n, ...`` of the split (``n``
    processes, e.g. one per GPU under ``torchrun``, share one ``out``; every sample file is
    written atomically). Whichever process finds every sample file present at its end writes
    the complete manifest; the others return ``complete: False`` with the count still missing.

    Returns the JSON summary: ``complete``, ``shard``, ``samples``, ``written``, ``skipped``
    (this process's), then, when complete, over the whole cache: ``bytes_per_frame`` (the
    sparse logits: values + indices + tail, every teacher), ``dense_fp16_bytes_per_frame`` (what
    the dense fp16 logits, K x h x w x 2 bytes per teacher, would take), ``ratio`` (the two's
    quotient), ``file_bytes_per_frame`` (mean ``.npz`` size, taps and headers included),
    ``array_bytes_per_frame`` (every stored array, taps included), ``seconds``.
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope
    from mmseg.registry import DATASETS

    import crossmodal
    from crossmodal.models.losses.sparse_targets import topk_sparse

    crossmodal.register_all_modules(init_default_scope=False)
    t0 = time.perf_counter()
    if topk < 1:
        raise ValueError(f'--topk must be >= 1, got {topk}')
    rank, world = shard or (0, 1)
    if not (world >= 1 and 0 <= rank < world):
        raise ValueError(f'shard must be (i, n) with 0 <= i < n, got {shard}')
    model, mcfg = build_distiller(cfg, device)
    tap_names = _requested_taps(taps, model.teacher_specs)

    ds_cfg = _plain_cfg(cfg.train_dataloader.dataset)
    if 'pipeline' not in ds_cfg or 'data_root' not in ds_cfg:
        raise ValueError(
            f'train_dataloader.dataset ({ds_cfg.get("type")}) is a dataset wrapper; the teacher '
            f'cache covers one dataset with data_root and pipeline (MixedLabelDataset: distil '
            f'online, or cache each part with a config that trains on it alone)'
        )
    mods = list(ds_cfg.get('modalities') or ('rgb',))
    for spec in model.teacher_specs.values():
        mods += [m for m in spec['modalities'] if m not in mods]
    ds_cfg.update(modalities=tuple(mods), pipeline=cache_pipeline(cfg), test_mode=True)
    with DefaultScope.overwrite_default_scope('mmseg'):
        dataset = DATASETS.build(ds_cfg)
    split = str(ds_cfg.get('split', 'train'))
    identity = _identity(cfg, mcfg, model, topk, tap_names, dataset, split)

    manifest_path = osp.join(out, MANIFEST)
    if osp.isfile(manifest_path):
        old = read_manifest(out)
        key = _same_identity(old, identity)
        if key is not None:
            what = dict(
                dataset='dataset', split='split', topk='--topk',
                teachers='teacher set, teacher config, checkpoint or --taps',
            )[key]
            raise TeacherCacheError(
                f'{manifest_path}: --out holds a cache made with another {what} ("{key}" '
                f'differs); use a new --out directory (or delete this one)'
            )
    manifest = dict(
        format=FORMAT,
        format_version=FORMAT_VERSION,
        crossmodal_version=crossmodal.__version__,
        complete=False,
        pipeline=ds_cfg['pipeline'],
        logits_stride=None,
        samples={},
        **identity,
    )
    os.makedirs(out, exist_ok=True)
    write_json_atomic(manifest_path, manifest)

    indices = range(rank, len(dataset), world)
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, desc=f'caching teachers -> {out}', unit='frame', dynamic_ncols=True)
    written = skipped = 0
    own = {}  # stem -> (shapes, array bytes, logit bytes) of the samples written here
    with torch.no_grad():
        for i in indices:
            stem = dataset.get_data_info(i)['stem']
            path = osp.join(out, sample_file(stem))
            if osp.isfile(path):
                skipped += 1
            else:
                item = dataset[i]
                ori = item['data_samples'].metainfo.get('ori_shape')
                data = model.data_preprocessor(pseudo_collate([item]), False)
                arrays = {}
                for name in model.teachers:
                    model._run_teacher(name, data['inputs'])
                    rec = model.teacher_taps[name]
                    logits = rec.get('logits')
                    sp = topk_sparse(logits.float(), topk)
                    dt = index_dtype(sp.num_classes)
                    arrays[f'{name}.values'] = sp.values[0].cpu().numpy().astype(np.float16)
                    arrays[f'{name}.indices'] = sp.indices[0].cpu().numpy().astype(dt)
                    arrays[f'{name}.tail'] = sp.tail[0].cpu().numpy().astype(np.float16)
                    for tap in tap_names[name]:
                        feat = rec.get(tap)
                        arrays[f'{name}.tap.{tap}'] = feat[0].float().cpu().numpy().astype(
                            np.float16
                        )
                h, w = sp.values.shape[-2:]
                ori = ori or tuple(data['inputs'][next(iter(data['inputs']))].shape[-2:])
                arrays['shapes'] = np.array([ori[0], ori[1], h, w], dtype=np.int32)
                write_sample(path, arrays)
                own[stem] = _byte_stats(arrays)
                written += 1
    stems = [dataset.get_data_info(i)['stem'] for i in range(len(dataset))]
    missing = [st for st in stems if not osp.isfile(osp.join(out, sample_file(st)))]
    if missing:  # other shards are still at work: the last one to finish completes the cache
        return dict(
            cache=out, complete=False, shard=[rank, world], samples=len(stems), written=written,
            skipped=skipped, missing=len(missing), seconds=round(time.perf_counter() - t0, 3),
        )
    file_bytes = array_bytes = logit_bytes = dense_bytes = 0
    samples = {}
    per_pixel = sum(t['num_classes'] for t in identity['teachers'].values()) * 2
    for stem in stems:  # every sample file, whichever process (or earlier run) wrote it
        rel = sample_file(stem)
        path = osp.join(out, rel)
        # a file not written here is read back (a corrupt one is an error naming it)
        shapes, arr_b, logit_b = own.get(stem) or _byte_stats(read_sample(path, stem))
        array_bytes += arr_b
        logit_bytes += logit_b
        file_bytes += osp.getsize(path)
        h, w = int(shapes[2]), int(shapes[3])
        dense_bytes += per_pixel * h * w
        samples[stem] = dict(
            file=rel, image_shape=[int(shapes[0]), int(shapes[1])], logits_shape=[h, w]
        )
    first = next(iter(samples.values()), None)
    if first is not None:
        manifest['logits_stride'] = round(first['image_shape'][0] / first['logits_shape'][0], 4)
    manifest['tap_shapes'] = {}
    for tname, entry in manifest['teachers'].items():
        shapes_of = manifest['tap_shapes'][tname] = {}
        if first is None:
            continue
        with np.load(osp.join(out, first['file']), allow_pickle=False) as z:
            for tap in entry['taps']:
                arr = z[f'{tname}.tap.{tap}']
                shapes_of[tap] = dict(channels=int(arr.shape[0]), shape=list(arr.shape[1:]))
    manifest.update(complete=True, samples=samples)
    write_json_atomic(manifest_path, manifest)
    n = max(len(samples), 1)
    return dict(
        cache=out,
        complete=True,
        shard=[rank, world],
        samples=len(samples),
        written=written,
        skipped=skipped,
        topk=int(topk),
        teachers=sorted(identity['teachers']),
        logits_shape=first['logits_shape'] if first else None,
        bytes_per_frame=round(logit_bytes / n, 1),
        dense_fp16_bytes_per_frame=round(dense_bytes / n, 1),
        ratio=round(logit_bytes / max(dense_bytes, 1), 4),
        file_bytes_per_frame=round(file_bytes / n, 1),
        array_bytes_per_frame=round(array_bytes / n, 1),
        seconds=round(time.perf_counter() - t0, 3),
    )
