"""Fabricated checkpoints in the real formats: ImageNet MiT files (mmseg and NVlabs keys) and
trained-teacher files, so a config's loading path can be exercised offline.

The values are random; only names, shapes and file formats are real. ``mmseg_to_nvlabs`` is the
inverse of :func:`crossmodal.models.backbones.pretrained.nvlabs_to_mmseg` (NVlabs' names:
``patch_embed{i}.proj``, ``block{i}.{j}.attn.q`` / ``.kv``, ``mlp.fc1`` / ``dwconv.dwconv`` /
``fc2`` as linears, ``norm{i}``, plus a 1000-class ``head``).
"""

from __future__ import annotations

import os
import os.path as osp
import re
from typing import Dict, Mapping

import torch

_MM_BLOCK = re.compile(r'^layers\.(\d+)\.1\.(\d+)\.(.+)$')
_MM_PATCH = re.compile(r'^layers\.(\d+)\.0\.(projection|norm)\.(weight|bias)$')
_MM_NORM = re.compile(r'^layers\.(\d+)\.2\.(weight|bias)$')
_RENAMES = {
    'attn.attn.out_proj.': 'attn.proj.',
    'ffn.layers.0.': 'mlp.fc1.',
    'ffn.layers.1.': 'mlp.dwconv.dwconv.',
    'ffn.layers.4.': 'mlp.fc2.',
}


def mmseg_to_nvlabs(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """mmseg ``MixVisionTransformer`` keys -> NVlabs MiT keys (with a 1000-class ImageNet head)."""
    out: Dict[str, torch.Tensor] = {}
    last_dim = None
    for k, v in state.items():
        m = _MM_PATCH.match(k)
        if m:
            part = 'proj' if m.group(2) == 'projection' else 'norm'
            out[f'patch_embed{int(m.group(1)) + 1}.{part}.{m.group(3)}'] = v
            continue
        m = _MM_NORM.match(k)
        if m:
            out[f'norm{int(m.group(1)) + 1}.{m.group(2)}'] = v
            last_dim = v.shape[0]
            continue
        m = _MM_BLOCK.match(k)
        if not m:
            raise KeyError(f'not an mmseg MiT key: {k}')
        prefix = f'block{int(m.group(1)) + 1}.{m.group(2)}.'
        rest = m.group(3)
        if rest.startswith('attn.attn.in_proj_'):
            kind = rest[len('attn.attn.in_proj_') :]
            c = v.shape[0] // 3
            out[f'{prefix}attn.q.{kind}'] = v[:c].clone()
            out[f'{prefix}attn.kv.{kind}'] = v[c:].clone()
            continue
        for old, new in _RENAMES.items():
            if rest.startswith(old):
                rest = new + rest[len(old) :]
                if new in ('mlp.fc1.', 'mlp.fc2.') and rest.endswith('weight'):
                    v = v.reshape(v.shape[0], v.shape[1])
                break
        out[prefix + rest] = v
    if last_dim is not None:
        out['head.weight'] = torch.zeros(1000, last_dim)
        out['head.bias'] = torch.zeros(1000)
    return out


def write_fake_mit_checkpoint(
    path, rgb_state: Mapping[str, torch.Tensor], fmt: str = 'mmseg'
) -> str:
    """Write ``rgb_state`` (an RGB MixVisionTransformer state dict) as a checkpoint file.

    Args:
        fmt: ``'mmseg'`` (``{'state_dict': ...}`` with mmseg keys, as mmseg's converted files),
            ``'nvlabs'`` (a bare dict with NVlabs keys, as NVlabs' ``mit_b*.pth``) or
            ``'segformer'`` (a whole-model checkpoint: ``backbone.`` prefix and a head).
    """
    path = str(path)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    state = {k: v.detach().clone() for k, v in rgb_state.items()}
    if fmt == 'mmseg':
        obj = {'state_dict': state, 'meta': {}}
    elif fmt == 'nvlabs':
        obj = mmseg_to_nvlabs(state)
    elif fmt == 'segformer':
        obj = {
            'state_dict': {
                **{f'backbone.{k}': v for k, v in state.items()},
                'decode_head.conv_seg.weight': torch.zeros(150, 256, 1, 1),
            }
        }
    else:
        raise ValueError(f"fmt must be 'mmseg', 'nvlabs' or 'segformer', got {fmt!r}")
    tmp = path + '.partial'
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def rgb_mit_state(backbone_cfg: Mapping, seed: int = 0) -> Dict[str, torch.Tensor]:
    """State dict of an RGB (3-channel) stock MixVisionTransformer of ``backbone_cfg``'s size."""
    from mmseg.registry import MODELS

    cfg = {
        k: v
        for k, v in dict(backbone_cfg).items()
        if k not in ('type', 'init_cfg', 'pretrained_path', 'pretrained', 'attn_impl')
    }
    cfg.update(type='MixVisionTransformer', in_channels=3)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MODELS.build(cfg).state_dict()
