"""``MiT``: mmseg's MixVisionTransformer that loads RGB-pretrained weights for any channel count.

Stock mmseg, given ``in_channels != 3`` and ``init_cfg=dict(type='Pretrained', ...)``, skips the
mismatched patch-embedding weight with a warning and leaves it random (frameworks.md C.4). Here
the RGB filters are adapted (:func:`adapt_input_conv`) and loaded; every other key must match.
State-dict keys are identical to stock mmseg, so checkpoints move between the two freely.
"""
from __future__ import annotations

from typing import Optional

from mmengine.logging import print_log
from mmseg.models.backbones import MixVisionTransformer
from mmseg.registry import MODELS

from .adapt import adapt_input_conv

PATCH_EMBED_KEY = 'layers.0.0.projection.weight'


@MODELS.register_module()
class MiT(MixVisionTransformer):
    """MixVisionTransformer (SegFormer encoder) with channel-adapting pretrained loading.

    Args (in addition to :class:`mmseg.models.backbones.MixVisionTransformer`'s):
        pretrained_path: checkpoint of an RGB MiT (mmseg ``mit_b*.pth`` or a SegFormer
            checkpoint, whose ``backbone.`` prefix is stripped). Loaded in ``init_weights``.
        in_channels: input channels (1 depth/thermal, 3 RGB/HHA, 4 RGBI, ...).

    Output: list of 4 stage maps (B, embed_dims * num_heads[i], H / 4·2^i, W / 4·2^i).
    """

    def __init__(self, pretrained_path: Optional[str] = None, **kwargs):
        self.pretrained_path = pretrained_path
        self.in_channels = kwargs.get('in_channels', 3)
        super().__init__(**kwargs)

    @property
    def stage_channels(self):
        return [self.embed_dims * h for h in self.num_heads]

    def init_weights(self):
        super().init_weights()
        if self.pretrained_path:
            from crossmodal.compat import load_checkpoint_file
            ckpt = load_checkpoint_file(self.pretrained_path)
            state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
            if any(k.startswith('backbone.') for k in state):
                state = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
            if PATCH_EMBED_KEY in state:
                state[PATCH_EMBED_KEY] = adapt_input_conv(state[PATCH_EMBED_KEY], self.in_channels)
            missing, unexpected = self.load_state_dict(state, strict=False)
            if missing or unexpected:
                raise RuntimeError(
                    f'{self.pretrained_path}: does not match this MiT (missing {missing[:8]}, '
                    f'unexpected {unexpected[:8]})')
            print_log(f'MiT: loaded {self.pretrained_path} (patch embedding adapted to '
                      f'{self.in_channels} channels)', logger='current')
