"""``MiT``: mmseg's MixVisionTransformer that loads RGB-pretrained weights for any channel count.

Stock mmseg, given ``in_channels != 3`` and ``init_cfg=dict(type='Pretrained', ...)``, skips the
mismatched patch-embedding weight with a warning and leaves it random (docs/design.md §9). ``MiT``
loads through :class:`~crossmodal.models.backbones.pretrained.PretrainedMiTInit` instead: the RGB
filters are adapted, NVlabs keys are converted, URLs are downloaded once, and every other key must
match (an error otherwise). State-dict keys are identical to stock mmseg, so checkpoints move
between the two freely; a stock ``MixVisionTransformer`` takes the same
``init_cfg=dict(type='PretrainedMiT', ...)``.
"""

from __future__ import annotations

from typing import Optional

from mmseg.models.backbones import MixVisionTransformer
from mmseg.registry import MODELS


@MODELS.register_module()
class MiT(MixVisionTransformer):
    """MixVisionTransformer (SegFormer encoder) with channel-adapting pretrained loading.

    Args (in addition to :class:`mmseg.models.backbones.MixVisionTransformer`'s):
        pretrained_path: shorthand for ``init_cfg=dict(type='PretrainedMiT', checkpoint=...)``
            (a path or URL of an RGB MiT: mmseg or NVlabs keys, or a SegFormer checkpoint).
        in_channels: input channels (1 depth/thermal, 3 RGB/HHA, 4 RGBI, 5 LiDAR, ...).
        init_cfg: mmengine init config; mmseg's ``type='Pretrained'`` is upgraded to
            ``'PretrainedMiT'`` (adapted patch embedding, strict keys) instead of warning and
            leaving a mismatched patch embedding random.

    Output: list of 4 stage maps (B, embed_dims * num_heads[i], H / 4·2^i, W / 4·2^i).
    """

    def __init__(self, pretrained_path: Optional[str] = None, init_cfg=None, **kwargs):
        if pretrained_path:
            if init_cfg:
                raise ValueError('MiT: set either pretrained_path or init_cfg, not both')
            init_cfg = dict(type='PretrainedMiT', checkpoint=pretrained_path)
        elif isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            init_cfg = dict(init_cfg, type='PretrainedMiT')
            init_cfg.pop('map_location', None)
        self.pretrained_path = pretrained_path
        self.in_channels = kwargs.get('in_channels', 3)
        super().__init__(init_cfg=init_cfg, **kwargs)

    @property
    def stage_channels(self):
        return [self.embed_dims * h for h in self.num_heads]
