"""``manifest.json`` of a teacher cache: what the cache was made from, and the checks against it.

A cache is only valid for the teacher(s) and the data it was computed from. The manifest records
(written by :mod:`crossmodal.teacher_cache.writer`, checked by :class:`TeacherCache`):

* per teacher: ``config_sha256`` (the teacher's model config, canonical JSON, without
  ``init_cfg`` / ``pretrained``: a teacher's weights all come from its checkpoint),
  ``checkpoint`` (the file loaded) and ``checkpoint_sha256`` (its bytes), ``num_classes``,
  ``modalities``, ``index_dtype``, ``taps`` ({name: {path, channels}});
* ``dataset``: ``data_root`` (real path), ``split``, ``split_file_sha256``, ``meta_sha256`` (the
  meta.json as it bears on this split: :func:`meta_sha256`) and ``sha256`` over the four;
* ``topk``, ``logits_stride`` (image pixels per logit pixel, e.g. 4 for SegFormer),
  ``crossmodal_version``, ``pipeline`` (the loading pipeline the teacher saw), ``complete``;
* ``samples``: ``{stem: {file, image_shape [H, W], logits_shape [h, w]}}``.

A different teacher config, checkpoint, dataset or split is a :class:`TeacherCacheMismatch` that
says which hash differs and what to do (re-run ``tools/cache_teacher.py``).
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
from typing import Any, Dict, Mapping, Optional

MANIFEST = 'manifest.json'
FORMAT = 'crossmodal-teacher-cache'
FORMAT_VERSION = 1
_IGNORED_CONFIG_KEYS = ('init_cfg', 'pretrained')


class TeacherCacheError(ValueError):
    """A teacher cache that cannot be used (missing, corrupt, incomplete, missing sample)."""


class TeacherCacheMismatch(TeacherCacheError):
    """A cache made from another teacher config / checkpoint / dataset / split."""


def sha256_file(path: str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def _plain(obj: Any) -> Any:
    """Config values as plain JSON types, without the keys that do not change a loaded teacher."""
    if hasattr(obj, 'to_dict'):
        obj = obj.to_dict()
    if isinstance(obj, Mapping):
        return {
            str(k): _plain(v) for k, v in sorted(obj.items()) if k not in _IGNORED_CONFIG_KEYS
        }
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return repr(obj)


def config_sha256(model_cfg: Mapping) -> str:
    """sha256 of a teacher model config (canonical JSON; no ``init_cfg`` / ``pretrained``)."""
    text = json.dumps(_plain(model_cfg), sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode()).hexdigest()


def split_file_of(data_root: str, split: str, meta: Mapping) -> str:
    """The split file a :class:`~crossmodal.datasets.RGBXSegDataset` of ``split`` reads."""
    splits = meta.get('splits') or {}
    if split in splits:
        name = splits[split]
    elif split.endswith('.txt'):
        name = split
    else:
        name = f'{split}.txt'
    return osp.join(data_root, name)


# meta.json keys that register splits: another split added to (or removed from) the registry by
# data_prep/label_subset.py or a converter's --unlabelled-dir does not change the cached split
_SPLIT_REGISTRY_KEYS = ('splits', 'unlabelled_splits', 'label_subsets', 'split_source')


def meta_sha256(meta: Mapping, split: str) -> str:
    """sha256 of a dataset's meta.json as it bears on ``split``: every key (classes, palette,
    label encoding, modalities, statistics, ...) except the split registry, of which only the
    entries of ``split`` count (its file, whether it is unlabelled, the subset it is). So
    registering a new split (e.g. ``train_l25`` / ``train_u75`` next to ``train``) leaves a cache of
    ``train`` valid, while a change of the classes or of this split's entry makes it stale."""
    plain = {str(k): v for k, v in meta.items() if k not in _SPLIT_REGISTRY_KEYS}
    plain['split_entry'] = dict(
        file=(meta.get('splits') or {}).get(split),
        unlabelled=split in (meta.get('unlabelled_splits') or ()),
        subset=(meta.get('label_subsets') or {}).get(split),
    )
    text = json.dumps(plain, sort_keys=True, separators=(',', ':'), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def dataset_identity(data_root: str, split: str, meta_file: str = 'meta.json') -> Dict[str, str]:
    """``{data_root, split, split_file_sha256, meta_sha256, meta_scope, sha256}`` of a dataset
    split (``meta_scope='split'``: :func:`meta_sha256`)."""
    meta_path = meta_file if osp.isabs(meta_file) else osp.join(data_root, meta_file)
    if not osp.isfile(meta_path):
        raise TeacherCacheError(f'{meta_path}: meta.json of the dataset is missing')
    try:
        with open(meta_path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as e:
        raise TeacherCacheError(f'{meta_path}: unreadable meta.json: {e}') from e
    split_path = split_file_of(data_root, split, meta)
    if not osp.isfile(split_path):
        raise TeacherCacheError(f'{split_path}: split file of split "{split}" is missing')
    ident = dict(
        data_root=osp.realpath(data_root),
        split=str(split),
        split_file_sha256=sha256_file(split_path),
        meta_sha256=meta_sha256(meta, split),
        meta_scope='split',
    )
    ident['sha256'] = _identity_sha(ident)
    return ident


def _legacy_identity(data_root: str, split: str, meta_file: str = 'meta.json') -> Dict[str, str]:
    """The dataset identity of caches written before ``meta_scope`` (the meta.json file's bytes
    were hashed whole), so that those caches are still checked, not refused unread."""
    ident = dataset_identity(data_root, split, meta_file)
    meta_path = meta_file if osp.isabs(meta_file) else osp.join(data_root, meta_file)
    del ident['meta_scope'], ident['sha256']
    ident['meta_sha256'] = sha256_file(meta_path)
    ident['sha256'] = _identity_sha(ident)
    return ident


def _identity_sha(ident: Mapping) -> str:
    return hashlib.sha256(json.dumps(dict(ident), sort_keys=True).encode()).hexdigest()


def write_json_atomic(path: str, obj: Any) -> None:
    tmp = f'{path}.tmp.{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_manifest(cache_dir: str) -> Dict[str, Any]:
    """The manifest of ``cache_dir``; a missing / unreadable / foreign one is a
    :class:`TeacherCacheError` naming the file."""
    path = osp.join(cache_dir, MANIFEST)
    if not osp.isfile(path):
        raise TeacherCacheError(
            f'{path}: no teacher cache here (manifest.json is missing); make one with '
            f'python tools/cache_teacher.py <distill config> --out {cache_dir}'
        )
    try:
        with open(path) as f:
            manifest = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise TeacherCacheError(f'{path}: corrupt teacher-cache manifest: {e}') from e
    if not isinstance(manifest, dict) or manifest.get('format') != FORMAT:
        raise TeacherCacheError(f'{path}: not a crossmodal teacher-cache manifest')
    if manifest.get('format_version') != FORMAT_VERSION:
        raise TeacherCacheError(
            f'{path}: cache format version {manifest.get("format_version")}, this crossmodal '
            f'reads version {FORMAT_VERSION}; re-run tools/cache_teacher.py'
        )
    return manifest


def _differs(cache_dir: str, what: str, cached: Any, now: Any, fix: str) -> TeacherCacheMismatch:
    return TeacherCacheMismatch(
        f'teacher cache {cache_dir} is stale or foreign: {what} differs (cache {cached}, now '
        f'{now}); {fix}'
    )


REBUILD = 're-run tools/cache_teacher.py with this config (into a new --out directory)'


def check_teacher(
    cache_dir: str,
    manifest: Mapping,
    name: str,
    cfg_sha: str,
    checkpoint: Optional[str],
    cfg_key: str,
) -> Dict[str, Any]:
    """Compare teacher ``name`` (its config hash and checkpoint file) with the manifest's entry;
    returns that entry. ``checkpoint``: the resolved file (None: the config names none)."""
    teachers = manifest.get('teachers') or {}
    if name not in teachers:
        raise _differs(
            cache_dir, 'the teacher set', sorted(teachers), f'teacher "{name}"', REBUILD
        )
    entry = teachers[name]
    if entry.get('config_sha256') != cfg_sha:
        raise _differs(
            cache_dir,
            f'the config hash of teacher "{name}" (config_sha256)',
            entry.get('config_sha256'),
            cfg_sha,
            REBUILD,
        )
    if checkpoint is None:
        raise TeacherCacheMismatch(
            f'teacher cache {cache_dir}: teacher "{name}" has no checkpoint in the config '
            f'({cfg_key}); set it to the file the cache was made from ({entry.get("checkpoint")}) '
            f'so that its sha256 can be checked'
        )
    sha = sha256_file(checkpoint)
    if entry.get('checkpoint_sha256') != sha:
        raise _differs(
            cache_dir,
            f'the checkpoint of teacher "{name}" (checkpoint_sha256 of {checkpoint}; the cache '
            f'was made from {entry.get("checkpoint")})',
            entry.get('checkpoint_sha256'),
            sha,
            REBUILD,
        )
    return dict(entry)


def check_dataset(cache_dir: str, manifest: Mapping, data_root: str, split: str) -> None:
    """Compare a training dataset (root, split) with the one the cache was made from; the error
    names every part that differs (split name, data_root, split file contents, meta.json)."""
    cached = manifest.get('dataset') or {}
    if cached.get('meta_scope') == 'split':
        now = dataset_identity(data_root, split)
    else:  # a cache written before the split-scoped meta hash
        now = _legacy_identity(data_root, split)
    if cached.get('sha256') == now['sha256']:
        return
    diffs = [
        f'{what} (cache {cached.get(key)}, now {now[key]})'
        for key, what in (
            ('split', 'the split'),
            ('data_root', 'the dataset root (data_root)'),
            ('split_file_sha256', 'the split file contents (split_file_sha256)'),
            ('meta_sha256', 'the dataset meta.json (meta_sha256)'),
        )
        if cached.get(key) != now[key]
    ] or [f'the dataset hash (cache {cached.get("sha256")}, now {now["sha256"]})']
    raise TeacherCacheMismatch(
        f'teacher cache {cache_dir} is stale or foreign: the training data differs from the data '
        f'it was made from: {"; ".join(diffs)}; {REBUILD}'
    )
