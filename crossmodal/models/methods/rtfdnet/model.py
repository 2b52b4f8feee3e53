"""``RTFDNet``: fusion-decoupling three-branch RGB-X segmentor (arXiv 2603.09149,
docs/methods/rtfdnet.md).

Branches (docs/methods/rtfdnet.md (b)):

* RGB stream: encoder E_r (:class:`~crossmodal.models.backbones.MiT`) + SegFormer head H_r.
* X stream (thermal or depth): encoder E_x + SegFormer head H_x.
* Fused path: SFF at every encoder stage, F_i^f = SFF(F_i^r, F_i^x), + SegFormer head H_f.
  The streams never receive the fused maps back, so the RGB stream alone is an ordinary SegFormer
  (exported by :mod:`.export`).

Training loss (all logits resized bilinearly to label size first)::

    w_ce  * [CE(Z^f, y) + CE(Z^r, y) + CE(Z^x, y)]            (each head's own loss_decode)
  + w_akd * CMDRFeatureLoss(F^r, F^x vs F^f)                  (CMDR feature part)
  + w_mce * CMDRLogitLoss(Z^r, Z^x vs argmax Z^f)             (CMDR logit part)
  + w_rdr * RDRLoss(Z^r, Z^x vs sg(Z^f))                      (RDR)

Defaults follow the paper / docs/methods/rtfdnet.md (e) and §8; the released code is reproduced with
``fusion=dict(type='SFF', spatial_attn=False), akd_alpha='random', akd_detach_fused=False,
mask_void=False, rdr_conf_thr=0.0, mce_class_weight=None``. One project default differs from
both: the CMDR logit part is class-weighted like the supervised decode loss
(``mce_class_weight='supervised'``), which changes nothing when that loss has no class weights.

Inputs: ``{'rgb': (B, 3, H, W), '<x>': (B, C_x, H, W)}`` from
:class:`~crossmodal.models.data_preprocessor.MultiModalDataPreprocessor`.
``predict`` returns ``pred_sem_seg`` (the head chosen by ``branch``, fused by default) and
``pred_sem_seg_rgb`` / ``pred_sem_seg_x`` / ``pred_sem_seg_fused`` for every head.
"""

from __future__ import annotations

import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import ModuleDict, ModuleList
from mmengine.structures import PixelData
from mmseg.models.segmentors.base import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from crossmodal.models.base import stack_labels
from crossmodal.models.segmentors.multimodal_encoder_decoder import (
    build_modality_backbones,
    check_modality_inputs,
    stage_channels,
)
from crossmodal.models.segmentors.sliding_window import slide_average

from .losses import CMDRFeatureLoss, CMDRLogitLoss, RDRLoss

BRANCHES = ('rgb', 'x', 'fused')
SUPERVISED = 'supervised'

ClassWeightOption = Union[str, Sequence[float], None]


def supervised_class_weight(head: nn.Module) -> Optional[List[float]]:
    """Per-class weights (K floats) of a built decode head's ``loss_decode``, or None.

    Reads the ``class_weight`` attribute of the loss module(s) (mmseg ``CrossEntropyLoss``,
    :class:`~crossmodal.models.losses.WeightedCrossEntropyLoss`, ...; a list, array or tensor).
    Losses without class weights are skipped; several losses with different weights raise
    ``ValueError`` (pass the weights explicitly then).
    """
    losses = head.loss_decode
    losses = list(losses) if isinstance(losses, nn.ModuleList) else [losses]
    found = []
    for loss in losses:
        cw = getattr(loss, 'class_weight', None)
        if cw is None:
            continue
        cw = [float(v) for v in torch.as_tensor(cw).flatten().tolist()]
        if cw not in found:
            found.append(cw)
    if len(found) > 1:
        raise ValueError(
            f'the decode head has losses with different class weights {found}; pass the '
            f'weights of the logit-level terms explicitly (mce_class_weight / rdr_class_weight)'
        )
    return found[0] if found else None


def resolve_class_weight(
    option: ClassWeightOption, head: nn.Module, num_classes: int, name: str
) -> Optional[List[float]]:
    """``'supervised'`` -> :func:`supervised_class_weight` of ``head``; None -> None; a sequence
    of ``num_classes`` floats -> that list."""
    if isinstance(option, str):
        if option != SUPERVISED:
            raise ValueError(f"{name} must be 'supervised', None or a list, got {option!r}")
        weights = supervised_class_weight(head)
    elif option is None:
        return None
    else:
        weights = [float(v) for v in option]
    if weights is not None and len(weights) != num_classes:
        raise ValueError(f'{name} has {len(weights)} entries for {num_classes} classes')
    return weights


@MODELS.register_module()
class RTFDNet(BaseSegmentor):
    """Three-branch RTFDNet segmentor.

    Args:
        backbone: encoder config shared by both streams (``in_channels`` set per modality).
        decode_head: SegFormer head config; three independent copies are built (rgb, x, fused).
        modalities: ``(rgb_name, x_name)``, e.g. ``('rgb', 'thermal')`` or ``('rgb', 'depth')``.
        fusion: per-stage fusion config (``channels`` filled in); default SFF with spatial
            attention (paper); ``spatial_attn=False`` reproduces the released code.
        in_channels: ``{modality: channels}`` overrides (defaults: rgb 3, thermal/depth 1, hha 3).
        backbone_overrides: ``{modality: {...}}`` per-stream changes (e.g. ``pretrained_path``).
        w_ce, w_mce, w_akd, w_rdr: loss weights (defaults = released B2 configs: 0.5/1/0.5/1).
        akd_alpha: ``'learned'`` gate MLPs (default) or ``'random'`` (released code: a fresh
            random pooling MLP on every call, never trained).
        akd_gate_mlps: ``'shared'`` (default; paper formula and code: one pooling MLP per stage
            for both sides) or ``'separate'`` (the project's earlier gate, which can close
            itself; see ``CMDRFeatureLoss``).
        akd_detach_gate: compute the gate without gradient (False = paper and code).
        akd_gate_norm: None (paper and code) or ``'mean'`` (gate divided by its channel mean).
        akd_detach_fused: detach F^f in the CMDR feature loss (default; False = released code).
        akd_reduction: gate MLP bottleneck ratio (16 as in the code).
        rdr_conf_thr: fused-head confidence threshold of RDR (0 = released code).
        mask_void: exclude void pixels from the CMDR logit part and RDR (False = released code).
        mce_class_weight: per-class weights (K,) of the CMDR logit part's pseudo-label CE
            (weighted by the fused argmax class, see ``CMDRLogitLoss``). ``'supervised'``
            (default): the ``class_weight`` of the decode head's ``loss_decode``, None when it
            has none (so configs with an unweighted CE behave as the paper and the code).
            None: unweighted (paper and code) whatever the supervised loss. A list: those.
        rdr_class_weight: the same option for RDR (pixels weighted by the fused argmax class).
            Default None (unweighted: the paper and the code do not weight RDR);
            ``'supervised'`` or a list as ``mce_class_weight``.
        detach_in_fusion: modalities whose stage maps enter the SFF blocks detached, so the fused
            head's losses do not train that stream's encoder (e.g. ``('rgb', )``). Empty (default)
            = paper and code: the fused CE back-propagates into both encoders. A project ablation
            knob; the stream still learns from its own head and the CMDR/RDR terms.
        branch: head returned as ``pred_sem_seg`` / by tensor mode: 'fused', 'rgb' or 'x'.
        train_cfg, test_cfg (``mode='whole'|'slide'`` with ``crop_size``/``stride``),
        data_preprocessor, init_cfg: as in mmseg.
    """

    def __init__(
        self,
        backbone: dict,
        decode_head: dict,
        modalities: Sequence[str] = ('rgb', 'thermal'),
        fusion: Optional[dict] = None,
        in_channels: Optional[Dict[str, int]] = None,
        backbone_overrides: Optional[Dict[str, dict]] = None,
        w_ce: float = 0.5,
        w_mce: float = 1.0,
        w_akd: float = 0.5,
        w_rdr: float = 1.0,
        akd_alpha: str = 'learned',
        akd_detach_fused: bool = True,
        akd_reduction: int = 16,
        rdr_conf_thr: float = 0.0,
        mask_void: bool = True,
        mce_class_weight: ClassWeightOption = SUPERVISED,
        rdr_class_weight: ClassWeightOption = None,
        akd_gate_mlps: str = 'shared',
        akd_detach_gate: bool = False,
        akd_gate_norm: Optional[str] = None,
        detach_in_fusion: Sequence[str] = (),
        branch: str = 'fused',
        train_cfg: Optional[dict] = None,
        test_cfg: Optional[dict] = None,
        data_preprocessor: Optional[dict] = None,
        init_cfg: Optional[dict] = None,
    ):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.modalities = tuple(modalities)
        if len(self.modalities) != 2:
            raise ValueError(
                f'RTFDNet takes exactly two modalities (rgb, x), got {self.modalities}'
            )
        if branch not in BRANCHES:
            raise ValueError(f'branch must be one of {BRANCHES}, got {branch!r}')
        self.branch = branch
        self.backbones = build_modality_backbones(
            backbone, self.modalities, in_channels, backbone_overrides
        )
        self.stage_channels = stage_channels(self.backbones[self.modalities[0]])
        fusion = dict(fusion or dict(type='SFF', spatial_attn=True))
        self.fusions = ModuleList(
            [MODELS.build(dict(fusion, channels=c, num_modalities=2)) for c in self.stage_channels]
        )
        # fused head under the name a single-head segmentor uses; unimodal heads keyed by modality
        self.decode_head = MODELS.build(copy.deepcopy(decode_head))
        # mmengine's ModuleDict: init_weights() reaches the heads (their conv_seg Normal init)
        self.heads = ModuleDict(
            {m: MODELS.build(copy.deepcopy(decode_head)) for m in self.modalities}
        )
        self.align_corners = self.decode_head.align_corners
        self.num_classes = self.decode_head.num_classes
        self.out_channels = self.decode_head.out_channels
        self.ignore_index = self.decode_head.ignore_index

        unknown = sorted(set(detach_in_fusion) - set(self.modalities))
        if unknown:
            raise ValueError(
                f'detach_in_fusion names {unknown}, not among the modalities {self.modalities}'
            )
        self.detach_in_fusion = tuple(detach_in_fusion)
        self.w_ce = float(w_ce)
        self.loss_cmdr_feat = CMDRFeatureLoss(
            self.stage_channels,
            num_modalities=2,
            reduction=akd_reduction,
            alpha=akd_alpha,
            gate_mlps=akd_gate_mlps,
            detach_gate=akd_detach_gate,
            gate_norm=akd_gate_norm,
            detach_fused=akd_detach_fused,
            loss_weight=w_akd,
        )
        self.loss_cmdr_logit = CMDRLogitLoss(
            mask_void=mask_void,
            ignore_index=self.ignore_index,
            loss_weight=w_mce,
            class_weight=resolve_class_weight(
                mce_class_weight, self.decode_head, self.num_classes, 'mce_class_weight'
            ),
        )
        self.loss_rdr = RDRLoss(
            conf_thr=rdr_conf_thr,
            mask_void=mask_void,
            ignore_index=self.ignore_index,
            loss_weight=w_rdr,
            class_weight=resolve_class_weight(
                rdr_class_weight, self.decode_head, self.num_classes, 'rdr_class_weight'
            ),
        )
        self.train_cfg = ConfigDict(train_cfg) if isinstance(train_cfg, dict) else train_cfg
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))

    # ------------------------------------------------------------------ helpers
    @property
    def x_modality(self) -> str:
        return self.modalities[1]

    def branch_head(self, branch: str) -> nn.Module:
        """The decode head of ``branch`` ('rgb', 'x' or 'fused')."""
        if branch == 'fused':
            return self.decode_head
        if branch == 'rgb':
            return self.heads[self.modalities[0]]
        if branch == 'x':
            return self.heads[self.modalities[1]]
        raise ValueError(f'branch must be one of {BRANCHES}, got {branch!r}')

    def _check_inputs(self, inputs) -> None:
        check_modality_inputs(inputs, self.modalities, 'RTFDNet')

    # ------------------------------------------------------------------ features
    def extract_modality_feats(
        self, inputs: Dict[str, torch.Tensor]
    ) -> Dict[str, List[torch.Tensor]]:
        """{modality: [(B, C_i, H/4·2^i, W/4·2^i)] * 4} from each stream's encoder."""
        self._check_inputs(inputs)
        return {m: list(self.backbones[m](inputs[m])) for m in self.modalities}

    def fuse(self, feats: Dict[str, List[torch.Tensor]]) -> List[torch.Tensor]:
        """Fused stage maps F_i^f = fusion_i(F_i^r, F_i^x) (streams in ``detach_in_fusion``
        detached)."""
        r, x = (
            [f.detach() for f in feats[m]] if m in self.detach_in_fusion else feats[m]
            for m in self.modalities
        )
        return [fusion([r[i], x[i]]) for i, fusion in enumerate(self.fusions)]

    def extract_feat(self, inputs: Dict[str, torch.Tensor]) -> List[torch.Tensor]:
        """Fused stage maps (the fused branch's features)."""
        return self.fuse(self.extract_modality_feats(inputs))

    def forward_heads(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, object]:
        """Everything the losses need: stream features, fused features, logits (B, K, H/4, W/4)."""
        feats = self.extract_modality_feats(inputs)
        fused = self.fuse(feats)
        r, x = self.modalities
        logits = {
            'rgb': self.heads[r](feats[r]),
            'x': self.heads[x](feats[x]),
            'fused': self.decode_head(fused),
        }
        return dict(feats=feats, fused_feats=fused, logits=logits)

    def encode_decode_all(
        self, inputs: Dict[str, torch.Tensor], batch_img_metas: List[dict]
    ) -> Dict[str, torch.Tensor]:
        """{branch: logits (B, K, H, W)} resized to the input image size."""
        logits = self.forward_heads(inputs)['logits']
        size = batch_img_metas[0]['img_shape']
        return {
            k: resize(v, size=size, mode='bilinear', align_corners=self.align_corners)
            for k, v in logits.items()
        }

    def encode_decode(
        self, inputs: Dict[str, torch.Tensor], batch_img_metas: List[dict]
    ) -> torch.Tensor:
        """Logits of the selected ``branch`` at input size."""
        return self.encode_decode_all(inputs, batch_img_metas)[self.branch]

    # ------------------------------------------------------------------ training
    def loss(self, inputs: Dict[str, torch.Tensor], data_samples: List[SegDataSample]) -> dict:
        out = self.forward_heads(inputs)
        logits = out['logits']
        losses = {}
        for name in BRANCHES:
            head_losses = self.branch_head(name).loss_by_feat(logits[name], data_samples)
            for k, v in head_losses.items():
                losses[f'{name}.{k}'] = self.w_ce * v if 'loss' in k else v
        gt = stack_labels(data_samples).long()
        up = {
            k: resize(v, size=gt.shape[-2:], mode='bilinear', align_corners=self.align_corners)
            for k, v in logits.items()
        }
        uni = [up['rgb'], up['x']]
        if self.loss_cmdr_feat.loss_weight:
            losses['loss_cmdr_feat'] = self.loss_cmdr_feat(
                [out['feats'][m] for m in self.modalities], out['fused_feats']
            )
        if self.loss_cmdr_logit.loss_weight:
            losses['loss_cmdr_logit'] = self.loss_cmdr_logit(uni, up['fused'], gt)
        if self.loss_rdr.loss_weight:
            losses['loss_rdr'] = self.loss_rdr(uni, up['fused'], gt)
        return losses

    # ------------------------------------------------------------------ inference
    def _metas(self, inputs, data_samples) -> List[dict]:
        if data_samples is not None:
            return [s.metainfo for s in data_samples]
        first = next(iter(inputs.values()))
        shape = tuple(first.shape[2:])
        return [
            dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
        ] * first.shape[0]

    def inference_all(
        self, inputs: Dict[str, torch.Tensor], batch_img_metas: List[dict]
    ) -> Dict[str, torch.Tensor]:
        """{branch: logits (B, K, H, W)} by whole-image or sliding-window inference."""
        mode = self.test_cfg.get('mode', 'whole')
        if mode == 'whole':
            return self.encode_decode_all(inputs, batch_img_metas)
        if mode == 'slide':
            return self.slide_inference_all(inputs, batch_img_metas)
        raise ValueError(f"test_cfg.mode must be 'whole' or 'slide', got {mode!r}")

    def slide_inference_all(
        self, inputs: Dict[str, torch.Tensor], batch_img_metas: List[dict]
    ) -> Dict[str, torch.Tensor]:
        """Sliding-window inference of all three heads at the same windows."""
        return slide_average(
            inputs,
            batch_img_metas,
            self.test_cfg.crop_size,
            self.test_cfg.stride,
            self.encode_decode_all,
        )

    def predict(
        self, inputs: Dict[str, torch.Tensor], data_samples: Optional[List[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """``pred_sem_seg`` + ``seg_logits`` of ``branch``; ``pred_sem_seg_{rgb,x,fused}`` of
        all."""
        metas = self._metas(inputs, data_samples)
        logits = self.inference_all(inputs, metas)
        samples = self.postprocess_result(logits[self.branch], data_samples)
        for name in BRANCHES:
            tmp = [SegDataSample(metainfo=s.metainfo) for s in samples]
            tmp = self.postprocess_result(logits[name], tmp if data_samples is not None else None)
            for s, t in zip(samples, tmp):
                s.set_data({f'pred_sem_seg_{name}': PixelData(data=t.pred_sem_seg.data)})
        return samples

    def _forward(self, inputs: Dict[str, torch.Tensor], data_samples=None) -> torch.Tensor:
        """Logits (B, K, H/4, W/4) of the selected branch (tensor mode, FLOP counting)."""
        return self.forward_heads(inputs)['logits'][self.branch]
