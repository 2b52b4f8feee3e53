"""FSKD teacher: RGBI SegFormer encoder + LiDAR branches, cross-attention fusion, regression head.

FSKD (Khan, Feilhauer, Zafar; arXiv 2604.01766) describes the teacher only as fusing "RGBI imagery
with LiDAR-derived planar metrics and vertical profiles via cross-attention"; no code is released.
Everything below is a **reconstruction** following docs/methods/fskd.md (b) [RECON]:

* RGBI branch: MiT on the 4-channel image (``backbone``; patch embedding adapted from RGB weights
  when ``pretrained_path`` is set).
* Planar-metric branch: a second (usually smaller) MiT on the planar LiDAR rasters
  (``lidar_backbone``; channels ``planar_channels`` of the LiDAR stack, e.g. CHM, height
  percentiles, cover, return density).
* Vertical-profile branch: a per-cell MLP (1x1 convs) over the profile bins (``profile_channels``)
  gives one token per cell; it is average-pooled to every stage grid, projected to the planar
  branch's stage width and added to its stage maps.
* Fusion: :class:`~crossmodal.models.fusion.CrossAttentionFusion` at ``fusion_stages`` (0-based;
  default (2, 3) = MiT stages 3-4 as in the defaults of docs/methods/fskd.md), RGBI tokens as
  queries, LiDAR tokens as keys/values; other stages pass the RGBI map on unchanged.
* Head: :class:`~crossmodal.models.heads.SegformerRegressionHead`.

Inputs: ``{'rgb': (B, 4, H, W), 'lidar': (B, C_lidar, H, W)}`` normalised by
:class:`~crossmodal.models.data_preprocessor.MultiModalDataPreprocessor` (key names configurable).
Prediction: ``pred_regression`` (K, H, W) in physical units, like the student.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmseg.registry import MODELS

from ...segmentors.multimodal_encoder_decoder import stage_channels
from ...segmentors.regression_encoder_decoder import RegressionEncoderDecoder


class ProfileEncoder(nn.Module):
    """Per-cell MLP over vertical-profile bins, pooled to each stage grid.

    Args:
        in_channels: number of profile bins P.
        hidden: token width.
        stage_channels: output width per stage.
    Forward: (B, P, H, W) -> [(B, C_i, H_i, W_i)] for the given stage sizes.
    """

    def __init__(self, in_channels: int, hidden: int, stage_channels: Sequence[int]):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1), nn.GELU(), nn.Conv2d(hidden, hidden, 1), nn.GELU()
        )
        self.proj = nn.ModuleList([nn.Conv2d(hidden, c, 1) for c in stage_channels])

    def forward(self, profile: torch.Tensor, sizes: Sequence) -> List[torch.Tensor]:
        tok = self.mlp(profile)
        return [proj(F.adaptive_avg_pool2d(tok, tuple(s))) for proj, s in zip(self.proj, sizes)]


@MODELS.register_module()
class FSKDTeacher(RegressionEncoderDecoder):
    """RGBI + LiDAR (planar metrics + vertical profiles) regression teacher (reconstruction).

    Args:
        backbone: RGBI encoder config (e.g. ``MiT`` with ``in_channels=4``).
        decode_head: regression head config (``SegformerRegressionHead``).
        lidar_backbone: planar-branch encoder config (default: a copy of ``backbone``);
            ``in_channels`` is set to ``len(planar_channels)``.
        planar_channels: indices of the planar metrics in the LiDAR stack.
        profile_channels: indices of the vertical-profile bins (empty = no profile branch).
        profile_hidden: width of the per-cell profile tokens.
        fusion: fusion config built per fused stage with ``channels``, ``num_modalities=2``,
            ``kv_channels`` (+ ``num_heads`` / ``sr_ratio`` from the lists below).
        fusion_stages: 0-based MiT stages that fuse (default (2, 3)).
        fusion_num_heads, fusion_sr_ratios: per-stage (4 values) heads and key/value reduction.
        rgbi_key, lidar_key: input dict keys.
        lidar_in_channels: expected channel count of the LiDAR stack (checked at forward, with an
            error naming it; None = only check that the indices exist).
        train_cfg, test_cfg, data_preprocessor, init_cfg: as in mmseg.
    """

    def __init__(
        self,
        backbone: dict,
        decode_head: dict,
        planar_channels: Sequence[int],
        profile_channels: Sequence[int] = (),
        lidar_backbone: Optional[dict] = None,
        profile_hidden: int = 32,
        fusion: Optional[dict] = None,
        fusion_stages: Sequence[int] = (2, 3),
        fusion_num_heads: Sequence[int] = (1, 1, 1, 1),
        fusion_sr_ratios: Sequence[int] = (8, 4, 2, 1),
        rgbi_key: str = 'rgb',
        lidar_key: str = 'lidar',
        lidar_in_channels: Optional[int] = None,
        train_cfg: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(
            backbone=backbone,
            decode_head=decode_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg,
        )
        self.rgbi_key, self.lidar_key = rgbi_key, lidar_key
        self.lidar_in_channels = lidar_in_channels
        self.planar_channels = [int(i) for i in planar_channels]
        self.profile_channels = [int(i) for i in profile_channels]
        if not self.planar_channels:
            raise ValueError('FSKDTeacher: planar_channels must name at least one LiDAR channel')
        overlap = set(self.planar_channels) & set(self.profile_channels)
        if overlap:
            raise ValueError(
                f'FSKDTeacher: channels {sorted(overlap)} are both planar and profile channels'
            )
        lb = copy.deepcopy(dict(lidar_backbone or backbone))
        lb['in_channels'] = len(self.planar_channels)
        if lidar_backbone is None:  # RGB weights do not describe LiDAR rasters
            lb.pop('pretrained_path', None)
        self.lidar_backbone = MODELS.build(lb)
        rgb_ch = stage_channels(self.backbone)
        lid_ch = stage_channels(self.lidar_backbone)
        if len(rgb_ch) != len(lid_ch):
            raise ValueError(
                f'FSKDTeacher: RGBI and LiDAR encoders have {len(rgb_ch)} and {len(lid_ch)} stages'
            )
        self.profile_encoder = (
            ProfileEncoder(len(self.profile_channels), profile_hidden, lid_ch)
            if self.profile_channels
            else None
        )
        self.fusion_stages = tuple(int(s) for s in fusion_stages)
        bad = [s for s in self.fusion_stages if not 0 <= s < len(rgb_ch)]
        if bad:
            raise ValueError(f'FSKDTeacher: fusion_stages {bad} outside 0..{len(rgb_ch) - 1}')
        fusion = dict(fusion or dict(type='CrossAttentionFusion'))
        self.fusions = nn.ModuleDict()
        for s in self.fusion_stages:
            cfg = dict(fusion, channels=rgb_ch[s], num_modalities=2, kv_channels=lid_ch[s])
            if fusion['type'] == 'CrossAttentionFusion':
                cfg.setdefault('num_heads', int(fusion_num_heads[s]))
                cfg.setdefault('sr_ratio', int(fusion_sr_ratios[s]))
            self.fusions[str(s)] = MODELS.build(cfg)

    def _check_inputs(self, inputs) -> None:
        if not isinstance(inputs, dict):
            raise TypeError(
                f'FSKDTeacher takes a dict {{{self.rgbi_key!r}: RGBI, {self.lidar_key!r}: LiDAR}}, '
                f'got {type(inputs).__name__}'
            )
        missing = [k for k in (self.rgbi_key, self.lidar_key) if k not in inputs]
        if missing:
            raise KeyError(f'FSKDTeacher: inputs lack {missing} (got {sorted(inputs)})')
        n = inputs[self.lidar_key].shape[1]
        if self.lidar_in_channels is not None and n != self.lidar_in_channels:
            raise ValueError(
                f'FSKDTeacher: the LiDAR input has {n} channels, the config expects '
                f'{self.lidar_in_channels} (see "channel_names" of the lidar modality in meta.json '
                f'and set planar_channels / profile_channels / lidar_in_channels to match)'
            )
        need = max(self.planar_channels + self.profile_channels) + 1
        if n < need:
            raise ValueError(
                f'FSKDTeacher: the LiDAR input has {n} channels but the configured planar/profile '
                f'channel indices need {need}'
            )

    def extract_lidar_feat(self, lidar: torch.Tensor) -> List[torch.Tensor]:
        """LiDAR stack (B, C, H, W) -> planar-branch stage maps (+ pooled profile tokens)."""
        feats = list(self.lidar_backbone(lidar[:, self.planar_channels]))
        if self.profile_encoder is not None:
            prof = self.profile_encoder(
                lidar[:, self.profile_channels], [f.shape[-2:] for f in feats]
            )
            feats = [f + p for f, p in zip(feats, prof)]
        return feats

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        """Fused stage maps [(B, C_i, H/4·2^-i, W/4·2^-i)] (RGBI stage widths)."""
        self._check_inputs(inputs)
        rgb = list(self.backbone(inputs[self.rgbi_key]))
        lid = self.extract_lidar_feat(inputs[self.lidar_key])
        return [
            self.fusions[str(i)]([r, li]) if str(i) in self.fusions else r
            for i, (r, li) in enumerate(zip(rgb, lid))
        ]
