"""``MultiModalEncoderDecoder``: the RGB-X teacher (docs/design.md §4).

One encoder per modality (a :class:`~crossmodal.models.backbones.MiT` by default), one fusion
module per encoder stage (SFF by default), and a decode head (SegformerHead) over the fused
stage maps. Inputs are dicts ``{'rgb': (B, 3, H, W), 'thermal': (B, 1, H, W), ...}`` produced by
:class:`~crossmodal.models.data_preprocessor.MultiModalDataPreprocessor`.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import ModuleDict, ModuleList
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.registry import MODELS

from .sliding_window import slide_average

from crossmodal.modalities import MODALITY_CHANNELS as DEFAULT_IN_CHANNELS  # noqa: E402  (one table)


def stage_channels(bb: nn.Module) -> List[int]:
    """Channels of each stage output of a MiT-like backbone (``stage_channels`` or embed x
    heads)."""
    if hasattr(bb, 'stage_channels'):
        return list(bb.stage_channels)
    if hasattr(bb, 'embed_dims') and hasattr(bb, 'num_heads'):
        return [bb.embed_dims * h for h in bb.num_heads]
    raise ValueError(f'cannot infer stage channels of {type(bb).__name__}')


def build_modality_backbones(
    backbone: dict,
    modalities: Sequence[str],
    in_channels: Optional[Dict[str, int]] = None,
    overrides: Optional[Dict[str, dict]] = None,
) -> ModuleDict:
    """One encoder per modality from a shared config: ``in_channels`` set per modality (defaults
    :data:`DEFAULT_IN_CHANNELS`), then that modality's ``overrides`` (e.g. ``init_cfg``).

    The container is mmengine's ``ModuleDict`` (a ``BaseModule``): ``model.init_weights()`` reaches
    every encoder through it, so each loads its pretrained weights (a plain ``nn.ModuleDict`` has no
    ``init_weights`` and mmengine silently skips everything inside it).
    """
    chans = dict(DEFAULT_IN_CHANNELS)
    chans.update(in_channels or {})
    overrides = overrides or {}
    out = ModuleDict()
    for m in modalities:
        if m not in chans:
            raise ValueError(
                f'no input channel count for modality "{m}"; pass in_channels={{"{m}": C}}'
            )
        cfg = copy.deepcopy(dict(backbone))
        cfg.update(overrides.get(m, {}))
        cfg['in_channels'] = chans[m]
        out[m] = MODELS.build(cfg)
    return out


def check_modality_inputs(inputs, modalities: Sequence[str], owner: str) -> None:
    """Raise a clear error unless ``inputs`` is a dict holding every name in ``modalities``."""
    if not isinstance(inputs, dict):
        raise TypeError(
            f'{owner} takes a dict of modalities {tuple(modalities)}, got a '
            f'{type(inputs).__name__}; use MultiModalDataPreprocessor / PackMultiModalInputs'
        )
    missing = [m for m in modalities if m not in inputs]
    if missing:
        raise KeyError(
            f'{owner} needs modalities {tuple(modalities)}; missing {missing}, got '
            f'{sorted(inputs)} (blank a missing sensor with ModalityDropout instead)'
        )


@MODELS.register_module()
class MultiModalEncoderDecoder(EncoderDecoder):
    """Multimodal encoder-decoder segmentor.

    Args:
        modalities: input names in order, e.g. ``('rgb', 'thermal')``; each gets its own encoder.
        backbone: encoder config shared by all modalities (``in_channels`` is set per modality).
        fusion: fusion config, built once per stage with ``channels`` and ``num_modalities``.
        decode_head: head config over the fused stage maps (e.g. ``SegformerHead``).
        in_channels: ``{modality: channels}``; defaults: rgb/hha 3, depth/thermal 1, rgbi 4.
        backbone_overrides: ``{modality: {...}}`` per-modality changes to ``backbone``.
        auxiliary_head, train_cfg, test_cfg, data_preprocessor, init_cfg: as in mmseg.

    Raises:
        KeyError: at forward, when an input modality is missing (lists what was given).
    """

    def __init__(
        self,
        modalities: Sequence[str],
        backbone: dict,
        decode_head: dict,
        fusion: Optional[dict] = None,
        in_channels: Optional[Dict[str, int]] = None,
        backbone_overrides: Optional[Dict[str, dict]] = None,
        auxiliary_head: Optional[dict] = None,
        train_cfg: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        if isinstance(data_preprocessor, dict):
            # build from mmseg's registry directly, so the class also works without a config /
            # default scope (mmengine's BaseModel would look in its root registry)
            data_preprocessor = MODELS.build(data_preprocessor)
        BaseSegmentor.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.modalities = tuple(modalities)
        if not self.modalities:
            raise ValueError('MultiModalEncoderDecoder needs at least one modality')
        self.backbones = build_modality_backbones(
            backbone, self.modalities, in_channels, backbone_overrides
        )
        channels = stage_channels(self.backbones[self.modalities[0]])
        fusion = dict(fusion or dict(type='SFF'))
        if len(self.modalities) == 1:
            self.fusions = None
        else:
            self.fusions = ModuleList(
                [
                    MODELS.build(dict(fusion, channels=c, num_modalities=len(self.modalities)))
                    for c in channels
                ]
            )
        self._init_decode_head(decode_head)
        self._init_auxiliary_head(auxiliary_head)
        self.train_cfg = ConfigDict(train_cfg) if isinstance(train_cfg, dict) else train_cfg
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))

    # ------------------------------------------------------------------ features
    def _check_inputs(self, inputs: Dict[str, torch.Tensor]) -> None:
        check_modality_inputs(inputs, self.modalities, type(self).__name__)

    def extract_modality_feats(
        self, inputs: Dict[str, torch.Tensor]
    ) -> Dict[str, List[torch.Tensor]]:
        """Per-modality stage maps: {name: [(B, C_i, H_i, W_i)] * num_stages}."""
        self._check_inputs(inputs)
        return {m: list(self.backbones[m](inputs[m])) for m in self.modalities}

    def fuse(self, feats: Dict[str, List[torch.Tensor]]) -> List[torch.Tensor]:
        per_mod = [feats[m] for m in self.modalities]
        if self.fusions is None:
            return per_mod[0]
        return [fusion([f[i] for f in per_mod]) for i, fusion in enumerate(self.fusions)]

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        """Fused stage maps [(B, C_i, H/4·2^i, W/4·2^i)]."""
        return self.fuse(self.extract_modality_feats(inputs))

    # ------------------------------------------------------------------ inference
    @staticmethod
    def _first(inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        return next(iter(inputs.values()))

    def predict(self, inputs, data_samples=None):
        if data_samples is None:
            shape = self._first(inputs).shape[2:]
            data_samples_meta = [
                dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
            ] * self._first(inputs).shape[0]
            seg_logits = self.inference(inputs, data_samples_meta)
            return self.postprocess_result(seg_logits, None)
        return super().predict(inputs, data_samples)

    def slide_inference(
        self, inputs: Dict[str, torch.Tensor], batch_img_metas: List[dict]
    ) -> torch.Tensor:
        """Sliding-window inference over every modality at the same windows."""
        return slide_average(
            inputs,
            batch_img_metas,
            self.test_cfg.crop_size,
            self.test_cfg.stride,
            self.encode_decode,
        )

    def forward_dummy(self, inputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Logits (B, K, H/4, W/4) of the decode head, for FLOP/latency counting."""
        return self.decode_head.forward(self.extract_feat(inputs))
