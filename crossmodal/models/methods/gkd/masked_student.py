"""GKD's masked-student input: the student's tap on a patch-masked copy of its input.

:class:`GKDFeatureLoss` with ``lambda_mask > 0`` lists ``needs = ('masked_student',)``; the engine
then calls :class:`MaskedStudentInput` (registered under that name, see
:mod:`crossmodal.models.distill.protocol`) and passes its result as ``student_feat_masked`` (and
the patch mask as ``token_mask``, (B, gh, gw), used by ``mask_loss_on='masked'``). The options come
from the loss spec's ``masker`` key (:class:`~.masking.PatchMasker` kwargs, plus ``embed_path``)::

    dict(type='GKDFeatureLoss', ..., student='s4', teacher='rgbt.t4',
         masker=dict(patch_size=32, mask_prob=0.5, mask_ratio=0.5))           # mean fill
    masker=dict(patch_size=32, fill='token', token_dims=16)                   # released code

* pixel fills (``'mean'`` default, ``'zero'``, a number): the student runs on the filled image.
  Losses whose ``masker`` options are equal share **one** masked pass (one random mask, one extra
  forward), so several GKD losses on several student stages (multi-stage QSD) see the same masked
  image.
* ``fill='token'`` (the released code's behaviour): the student runs on the unmasked image while a
  forward hook on its first patch embedding (``embed_path``, default ``'backbone.layers.0.0'``, the
  MiT ``PatchEmbed``) replaces the tokens of the masked patches by the masker's learned mask token.
  Each such loss owns its mask token, hence its own masked pass. This input is an ``nn.Module``:
  the engine registers it (``loss_inputs.<loss name>.masked_student``) so the optimiser trains the
  token and checkpoints keep it; like the QSD modules it is training-only and never exported.

The masked pass runs the student's backbone (and its decode head when the tap lies there) once per
step and masker; the normal pass's tap recordings are kept (:meth:`TapRecorder.isolated`).
"""

from __future__ import annotations

from typing import Any, Dict

import torch.nn as nn

from crossmodal.models.distill.protocol import DistillStep, LossInput, register_loss_input
from crossmodal.models.distill.taps import resolve_module

from .masking import PatchMasker

DEFAULT_EMBED_PATH = 'backbone.layers.0.0'


@register_loss_input
class MaskedStudentInput(LossInput, nn.Module):
    """Provider of ``student_feat_masked`` (the student tap on the masked input) and
    ``token_mask`` (B, gh, gw) for a GKD loss; options: :class:`PatchMasker` kwargs and
    ``embed_path`` (``fill='token'`` only)."""

    name = 'masked_student'
    spec_key = 'masker'

    def __init__(self, options=None) -> None:
        nn.Module.__init__(self)
        LossInput.__init__(self, options)
        kwargs = dict(self.options)
        self.embed_path = str(kwargs.pop('embed_path', DEFAULT_EMBED_PATH))
        self.masker = PatchMasker(**kwargs)

    def _cache_key(self):
        if self.masker.masks_tokens:  # own learned token -> own pass
            return (self.name, id(self))
        return (self.name, tuple(sorted((k, repr(v)) for k, v in self.options.items())))

    def _masked_pass(self, step: DistillStep) -> Dict[str, Any]:
        key = self._cache_key()
        entry = step.cache.get(key)
        if entry is None:
            model = step.model
            x = step.student_input
            masked, token_mask = self.masker(x)
            with model.student_taps.isolated() as taps:
                if self.masker.masks_tokens:
                    embed = resolve_module(model.student, self.embed_path, 'student')
                    with self.masker.tokens_masked_in(embed, token_mask, tuple(x.shape[-2:])):
                        feats = model.student.extract_feat(masked)
                else:
                    feats = model.student.extract_feat(masked)
                grid = self.masker.grid(tuple(x.shape[-2:]))
                entry = dict(
                    feats=feats,
                    taps=taps.snapshot(),
                    head_done=False,
                    token_mask=token_mask.view(token_mask.shape[0], *grid),
                )
            step.cache[key] = entry
        return entry

    def __call__(self, step: DistillStep, spec: dict) -> Dict[str, Any]:
        entry = self._masked_pass(step)
        model = step.model
        with model.student_taps.isolated() as taps:
            taps.restore(entry['taps'])
            if not taps.has(spec['student']) and not entry['head_done']:
                model.student.decode_head.forward(entry['feats'])
                entry['head_done'] = True
                entry['taps'] = taps.snapshot()
            feat = taps.get(spec['student'])
        return {'student_feat_masked': feat, 'token_mask': entry['token_mask']}
