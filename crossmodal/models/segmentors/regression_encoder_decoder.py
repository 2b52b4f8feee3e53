"""``RegressionEncoderDecoder``: a stock-style SegFormer that predicts dense regression maps.

mmseg's :class:`~mmseg.models.segmentors.EncoderDecoder` with a regression decode head (e.g.
:class:`~crossmodal.models.heads.SegformerRegressionHead`): training, feature extraction and the
state-dict layout are unchanged (``backbone.*``, ``decode_head.*``); only inference differs —
:meth:`predict` fills ``data_sample.pred_regression = PixelData(data=(K, H, W))`` in physical units
(padding removed, resized to ``ori_shape``) instead of ``pred_sem_seg``.

The FSKD RGBI student (docs/methods/fskd.md (b), reconstruction) is this class with a 4-channel
:class:`~crossmodal.models.backbones.MiT` (``in_channels=4, pretrained_path=<RGB MiT>``: the RGB
patch-embedding filters are adapted by :func:`~crossmodal.models.backbones.adapt_input_conv`).
Inputs: a (B, C, H, W) tensor (``SegDataPreProcessor``) or, for subclasses such as the FSKD teacher,
a dict of modalities.
"""

from __future__ import annotations

from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from .sliding_window import Inputs, first_tensor, slide_average


@MODELS.register_module()
class RegressionEncoderDecoder(EncoderDecoder):
    """EncoderDecoder whose decode head regresses K targets (see module docstring).

    Args: as :class:`mmseg.models.segmentors.EncoderDecoder`; ``decode_head`` must provide
    ``predict_by_feat`` returning physical-unit maps (B, K, H, W) and ``target_names``.
    ``test_cfg.mode``: 'whole' (default) or 'slide' (``crop_size``, ``stride``; overlapping windows
    are averaged).
    """

    def __init__(self, *args, **kwargs):
        dp = kwargs.get('data_preprocessor')
        if isinstance(dp, dict):
            # build from mmseg's registry so the class works without a default scope
            kwargs['data_preprocessor'] = MODELS.build(dp)
        super().__init__(*args, **kwargs)
        self.test_cfg = ConfigDict(self.test_cfg or dict(mode='whole'))

    @property
    def target_names(self):
        return tuple(getattr(self.decode_head, 'target_names', ()))

    def forward_regression(self, inputs: Inputs):
        """Normalised predictions (B, K, H/4, W/4) and the fused decoder feature (B, C, H/4,
        W/4)."""
        return self.decode_head.forward_with_feat(self.extract_feat(inputs))

    # ------------------------------------------------------------------ inference
    def slide_inference(self, inputs: Inputs, batch_img_metas: List[dict]) -> torch.Tensor:
        return slide_average(
            inputs,
            batch_img_metas,
            self.test_cfg.crop_size,
            self.test_cfg.stride,
            self.encode_decode,
        )

    def whole_inference(self, inputs: Inputs, batch_img_metas: List[dict]) -> torch.Tensor:
        return self.encode_decode(inputs, batch_img_metas)

    def predict(self, inputs: Inputs, data_samples: Optional[list] = None) -> list:
        """Returns data samples with ``pred_regression`` (K, H, W) in physical units."""
        if data_samples is not None:
            metas = [ds.metainfo for ds in data_samples]
        else:
            shape = tuple(first_tensor(inputs).shape[2:])
            metas = [
                dict(ori_shape=shape, img_shape=shape, pad_shape=shape, padding_size=[0, 0, 0, 0])
            ] * first_tensor(inputs).shape[0]
        pred = self.inference(inputs, metas)
        return self.postprocess_result(pred, data_samples, metas)

    def postprocess_result(
        self,
        pred: torch.Tensor,
        data_samples: Optional[list] = None,
        metas: Optional[List[dict]] = None,
    ) -> list:
        """Remove padding, resize (bilinear) to ``ori_shape``, store as ``pred_regression``."""
        if data_samples is None:
            data_samples = [SegDataSample() for _ in range(pred.shape[0])]
            metas = metas or [{}] * pred.shape[0]
        else:
            metas = [ds.metainfo for ds in data_samples]
        for i, (ds, meta) in enumerate(zip(data_samples, metas)):
            p = pred[i : i + 1]
            pad = meta.get('img_padding_size', meta.get('padding_size', [0, 0, 0, 0])) or [
                0,
                0,
                0,
                0,
            ]
            left, right, top, bottom = [int(v) for v in pad]
            p = p[:, :, top : p.shape[2] - bottom, left : p.shape[3] - right]
            ori = meta.get('ori_shape')
            if ori is not None and tuple(p.shape[2:]) != tuple(ori[:2]):
                p = F.interpolate(
                    p, size=tuple(ori[:2]), mode='bilinear', align_corners=self.align_corners
                )
            ds.set_data({'pred_regression': PixelData(data=p[0])})
        return data_samples
