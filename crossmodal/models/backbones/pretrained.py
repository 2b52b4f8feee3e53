"""ImageNet-pretrained MiT weights for every backbone, whatever its input channels.

Every published RGB-X result this project reproduces (CMX, RTFDNet, DFormer, CroDiNo-KD, SegFormer
baselines) starts every branch from ImageNet MiT weights. This module is the one place that loads
them:

* **Sources**: a local path or an ``http(s)://`` URL. URLs are downloaded once into torch's hub
  cache (``<torch.hub.get_dir()>/checkpoints/<file name>``, the folder mmengine uses too); the
  directory named by ``$CROSSMODAL_PRETRAINED_DIR`` and ``./pretrain/`` are searched first, so an
  offline machine only needs the file dropped there. Without network and without the file, the
  error names the file, where to put it and the config key to set instead.
* **Key formats**: mmseg's converted files (``mit_b2_20220624-66e8bf70.pth``; keys
  ``layers.<stage>.<0|1|2>...``), NVlabs' original release (``mit_b2.pth``; keys ``patch_embed1``,
  ``block1.0.attn.q``, ... converted on load the way mmseg's ``mit2mmseg`` tool maps them: q and kv
  concatenated into ``in_proj``, MLP ``fc1/dwconv/fc2`` into ``ffn.layers.0/1/4`` with 1x1 conv
  shapes, ImageNet ``head`` dropped), and whole SegFormer checkpoints (``backbone.`` prefix).
* **Channels**: the RGB patch-embedding filters are adapted to the backbone's input channels
  (:func:`~crossmodal.models.backbones.adapt.adapt_input_conv`: 1-channel depth/thermal get the sum
  of the RGB filters, 4/5-channel RGBI/LiDAR repeat them scaled by 3/C).
* **Strictness**: every backbone tensor must come from the checkpoint; a missing, unexpected or
  wrongly shaped key is a :class:`PretrainedMismatchError` listing them, never a warning.

Use it in a config as an mmengine initializer on a stock ``MixVisionTransformer`` or on
crossmodal's ``MiT``::

    backbone=dict(type='MixVisionTransformer', in_channels=1, ...,
                  init_cfg=dict(type='PretrainedMiT', checkpoint=MIT_CHECKPOINTS['b0']))

Exported students drop ``init_cfg``, so they stay plain mmseg models.
"""

from __future__ import annotations

import os
import os.path as osp
import re
from typing import Dict, Mapping, Optional

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.registry import WEIGHT_INITIALIZERS

from .adapt import adapt_input_conv

PATCH_EMBED_KEY = 'layers.0.0.projection.weight'

#: mmseg's converted ImageNet-1k MiT checkpoints (the files mmseg's SegFormer configs use).
MIT_CHECKPOINTS: Dict[str, str] = {
    f'b{i}': f'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/mit_b{i}_{h}.pth'
    for i, h in enumerate(
        [
            '20220624-7e0fe6dd',
            '20220624-02e5a6a1',
            '20220624-66e8bf70',
            '20220624-13b1141c',
            '20220624-d588d980',
            '20220624-658746d9',
        ]
    )
}

PRETRAINED_DIR_ENV = 'CROSSMODAL_PRETRAINED_DIR'


class PretrainedWeightsUnavailable(FileNotFoundError):
    """A pretrained checkpoint is neither on disk nor downloadable (the message says what to do)."""


class PretrainedMismatchError(ValueError):
    """A pretrained checkpoint does not match the backbone it is loaded into."""


# ---------------------------------------------------------------------------------- locating
def _is_url(path: str) -> bool:
    return path.startswith(('http://', 'https://'))


def hub_checkpoint_dir() -> str:
    """torch's (and mmengine's) download cache for checkpoints."""
    return osp.join(torch.hub.get_dir(), 'checkpoints')


def _alternative_names(file_name: str):
    """The mmseg file name, plus NVlabs' ``mit_bN.pth`` for an mmseg MiT file."""
    names = [file_name]
    m = re.match(r'(mit_b\d)_\d{8}-[0-9a-f]+\.pth$', file_name)
    if m:
        names.append(f'{m.group(1)}.pth')
    return names


def search_dirs():
    dirs = []
    if os.environ.get(PRETRAINED_DIR_ENV):
        dirs.append(os.environ[PRETRAINED_DIR_ENV])
    dirs += ['pretrain', hub_checkpoint_dir()]
    return dirs


def resolve_checkpoint(
    checkpoint: str, download: bool = True, cfg_key: Optional[str] = None
) -> str:
    """Local file of ``checkpoint`` (a path or a URL), downloading a URL once if needed.

    Args:
        checkpoint: a file path, or an ``http(s)://`` URL.
        download: fetch a URL that is not cached yet (False: only look on disk).
        cfg_key: the config key that sets this checkpoint, named in the error.

    Raises:
        PretrainedWeightsUnavailable: a missing local file, or a URL that is neither cached nor
            downloadable (offline); the message names the file, the folders searched and the key.
    """
    key_hint = (
        f' or point the config at a local copy: --cfg-options {cfg_key}=/path/to/file'
        if cfg_key
        else ' or point the backbone\'s init_cfg.checkpoint at a local copy (e.g. '
        '--cfg-options model.backbone.init_cfg.checkpoint=/path/to/file)'
    )
    if not _is_url(checkpoint):
        if osp.isfile(checkpoint):
            return checkpoint
        raise PretrainedWeightsUnavailable(
            f'pretrained checkpoint not found: {checkpoint}; '
            f'download it{key_hint.replace(" or", ",")}'
        )
    file_name = osp.basename(checkpoint.split('?')[0])
    names = _alternative_names(file_name)
    for d in search_dirs():
        for n in names:
            p = osp.join(d, n)
            if osp.isfile(p):
                return p
    target = osp.join(hub_checkpoint_dir(), file_name)
    if download:
        from mmengine.dist import barrier, get_dist_info

        rank, world = get_dist_info()
        err = None
        if rank == 0:
            try:
                _download(checkpoint, target)
            except Exception as e:  # offline, DNS failure, HTTP error, disk full ...
                err = e
        if world > 1:
            barrier()
        if osp.isfile(target):
            return target
        reason = f' ({type(err).__name__}: {err})' if err is not None else ''
    else:
        reason = ' (download disabled)'
    raise PretrainedWeightsUnavailable(
        f'could not get the pretrained weights {checkpoint}{reason}. On a machine without network, '
        f'download that file (or NVlabs\' {names[-1]}) elsewhere and put it into one of '
        f'{search_dirs()} (${PRETRAINED_DIR_ENV} is searched first){key_hint}'
    )


def _download(url: str, target: str) -> None:
    """Download ``url`` to ``target`` atomically (a temporary file renamed when complete)."""
    os.makedirs(osp.dirname(target), exist_ok=True)
    tmp = f'{target}.partial-{os.getpid()}'
    print_log(f'downloading {url} -> {target}', logger='current')
    try:
        torch.hub.download_url_to_file(url, tmp, progress=True)
        os.replace(tmp, target)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


# ---------------------------------------------------------------------------------- key formats
def is_nvlabs_mit(state: Mapping[str, torch.Tensor]) -> bool:
    """True for NVlabs' original MiT key names (``patch_embed1.*``, ``block1.*``)."""
    return any(k.startswith(('patch_embed1.', 'block1.')) for k in state)


_NV_PATCH = re.compile(r'^patch_embed(\d+)\.(proj|norm)\.(weight|bias)$')
_NV_BLOCK = re.compile(r'^block(\d+)\.(\d+)\.(.+)$')
_NV_NORM = re.compile(r'^norm(\d+)\.(weight|bias)$')
_NV_BLOCK_RENAMES = {
    'attn.proj.': 'attn.attn.out_proj.',
    'mlp.fc1.': 'ffn.layers.0.',
    'mlp.dwconv.dwconv.': 'ffn.layers.1.',
    'mlp.fc2.': 'ffn.layers.4.',
}


def nvlabs_to_mmseg(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Convert NVlabs MiT keys to mmseg's ``MixVisionTransformer`` keys (stage ``i`` -> ``i-1``).

    ``patch_embed{i}.proj`` -> ``layers.{i-1}.0.projection``; ``block{i}.{j}.X`` ->
    ``layers.{i-1}.1.{j}.X`` with ``attn.q`` + ``attn.kv`` concatenated (q rows first) into
    ``attn.attn.in_proj_{weight,bias}``, ``attn.proj`` -> ``attn.attn.out_proj``, MLP linears ->
    1x1 convs ``ffn.layers.0`` / ``ffn.layers.4`` (shape (O, I) -> (O, I, 1, 1)), depth-wise conv
    -> ``ffn.layers.1``; ``norm{i}`` -> ``layers.{i-1}.2``; ``head.*`` (ImageNet classifier)
    dropped.

    Raises:
        PretrainedMismatchError: a key of no known NVlabs form, or a q without its kv.
    """
    out: Dict[str, torch.Tensor] = {}
    unknown = []
    for k, v in state.items():
        if k.startswith('head.'):
            continue
        m = _NV_PATCH.match(k)
        if m:
            part = 'projection' if m.group(2) == 'proj' else 'norm'
            out[f'layers.{int(m.group(1)) - 1}.0.{part}.{m.group(3)}'] = v
            continue
        m = _NV_NORM.match(k)
        if m:
            out[f'layers.{int(m.group(1)) - 1}.2.{m.group(2)}'] = v
            continue
        m = _NV_BLOCK.match(k)
        if not m:
            unknown.append(k)
            continue
        prefix = f'layers.{int(m.group(1)) - 1}.1.{m.group(2)}.'
        rest = m.group(3)
        if rest.startswith('attn.kv.'):
            continue  # merged with attn.q below
        if rest.startswith('attn.q.'):
            kind = rest[len('attn.q.') :]
            kv_key = k.replace('attn.q.', 'attn.kv.')
            if kv_key not in state:
                raise PretrainedMismatchError(f'NVlabs MiT checkpoint has {k} but no {kv_key}')
            out[f'{prefix}attn.attn.in_proj_{kind}'] = torch.cat([v, state[kv_key]], dim=0)
            continue
        for old, new in _NV_BLOCK_RENAMES.items():
            if rest.startswith(old):
                rest = new + rest[len(old) :]
                if (
                    new in ('ffn.layers.0.', 'ffn.layers.4.')
                    and rest.endswith('weight')
                    and v.ndim == 2
                ):
                    v = v.reshape(*v.shape, 1, 1)
                break
        out[prefix + rest] = v
    if unknown:
        raise PretrainedMismatchError(
            f'unrecognised keys in an NVlabs-format MiT checkpoint: {unknown[:8]}'
        )
    return out


def mit_state_dict(ckpt, prefix: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """Backbone state dict in mmseg keys from a loaded checkpoint of any supported format.

    Unwraps ``state_dict`` / ``model`` containers, keeps the ``prefix`` sub-tree (default: the
    ``backbone.`` sub-tree when present, i.e. a whole SegFormer checkpoint) and converts NVlabs
    keys.
    """
    state = ckpt
    if isinstance(ckpt, Mapping):
        for container in ('state_dict', 'model'):
            if container in ckpt and isinstance(ckpt[container], Mapping):
                state = ckpt[container]
                break
    if not isinstance(state, Mapping):
        raise PretrainedMismatchError(f'expected a state dict, got {type(state).__name__}')
    from crossmodal.utils.checkpoints import strip_module_prefix

    state = strip_module_prefix(state)  # DDP
    if prefix is None and any(k.startswith('backbone.') for k in state):
        prefix = 'backbone.'
    if prefix:
        state = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        if not state:
            raise PretrainedMismatchError(f'no key starts with the prefix {prefix!r}')
    if is_nvlabs_mit(state):
        state = nvlabs_to_mmseg(state)
    return dict(state)


# ---------------------------------------------------------------------------------- loading
def load_pretrained_mit(
    module: nn.Module, checkpoint: str, prefix: Optional[str] = None, cfg_key: Optional[str] = None
) -> dict:
    """Load an RGB MiT checkpoint into ``module`` (a MixVisionTransformer of any input channels).

    Returns:
        report ``dict(checkpoint, file, format, matched, total, in_channels, adapted)``, also kept
        as ``module.pretrained_report`` (read by ``tools/check_config.py``).

    Raises:
        PretrainedWeightsUnavailable: see :func:`resolve_checkpoint`.
        PretrainedMismatchError: missing / unexpected / wrongly shaped keys (listed).
    """
    from crossmodal.compat import load_checkpoint_file

    path = resolve_checkpoint(checkpoint, cfg_key=cfg_key)
    raw = load_checkpoint_file(path)
    inner = raw.get('state_dict', raw) if isinstance(raw, Mapping) else raw
    fmt = 'nvlabs' if isinstance(inner, Mapping) and is_nvlabs_mit(inner) else 'mmseg'
    state = mit_state_dict(raw, prefix)
    own = module.state_dict()
    in_ch = int(own[PATCH_EMBED_KEY].shape[1]) if PATCH_EMBED_KEY in own else None
    adapted = False
    if PATCH_EMBED_KEY in state and in_ch is not None and state[PATCH_EMBED_KEY].shape[1] != in_ch:
        try:
            state[PATCH_EMBED_KEY] = adapt_input_conv(state[PATCH_EMBED_KEY], in_ch)
        except ValueError as e:
            raise PretrainedMismatchError(f'{path}: patch embedding: {e}') from e
        adapted = True
    missing = sorted(k for k in own if k not in state)
    unexpected = sorted(k for k in state if k not in own)
    shape = sorted(
        f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    )
    if missing or unexpected or shape:

        def show(keys):
            return f'{len(keys)} {keys[:6]}{" ..." if len(keys) > 6 else ""}'

        raise PretrainedMismatchError(
            f'{path} ({fmt} format) does not match this {type(module).__name__} '
            f'(a different MiT size?): missing {show(missing)}; unexpected {show(unexpected)}; '
            f'shape mismatches {show(shape)}'
        )
    module.load_state_dict(state, strict=True)
    report = dict(
        checkpoint=checkpoint,
        file=path,
        format=fmt,
        matched=len(own),
        total=len(own),
        in_channels=in_ch,
        adapted=adapted,
    )
    module.pretrained_report = report
    print_log(
        f'{type(module).__name__}: loaded {len(own)}/{len(own)} tensors from {path} '
        f'({fmt} keys' + (f', patch embedding adapted 3 -> {in_ch} channels)' if adapted else ')'),
        logger='current',
    )
    return report


@WEIGHT_INITIALIZERS.register_module(name='PretrainedMiT')
class PretrainedMiTInit:
    """mmengine initializer: ``init_cfg=dict(type='PretrainedMiT', checkpoint=<path or URL>)``.

    Args:
        checkpoint: local path or URL of an RGB MiT checkpoint (mmseg or NVlabs keys, or a whole
            SegFormer checkpoint).
        prefix: sub-tree of the checkpoint to load (default: ``backbone.`` when present).
        cfg_key: config key named in the error when the file cannot be had (optional).
    """

    def __init__(
        self, checkpoint: str, prefix: Optional[str] = None, cfg_key: Optional[str] = None
    ):
        if not checkpoint:
            raise ValueError('PretrainedMiT needs checkpoint=<path or URL>')
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.cfg_key = cfg_key
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        report = load_pretrained_mit(module, self.checkpoint, self.prefix, self.cfg_key)
        if hasattr(module, '_params_init_info'):
            from mmengine.model.weight_init import update_init_info

            update_init_info(module, init_info=f'PretrainedMiT: {report["file"]}')


def pretrained_reports(model: nn.Module) -> Dict[str, Optional[dict]]:
    """``{module path: report or None}`` for every MixVisionTransformer in ``model``."""
    from mmseg.models.backbones import MixVisionTransformer

    return {
        name: getattr(m, 'pretrained_report', None)
        for name, m in model.named_modules()
        if isinstance(m, MixVisionTransformer)
    }
