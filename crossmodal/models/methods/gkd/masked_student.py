"""GKD's masked-student input: the student's tap on a patch-masked copy of its input.

:class:`GKDFeatureLoss` with ``lambda_mask > 0`` lists ``needs = ('masked_student',)``; the engine
then calls :class:`MaskedStudentInput` (registered under that name, see
:mod:`crossmodal.models.distill.protocol`) and passes its result as ``student_feat_masked``. The
options come from the loss spec's ``masker`` key (:class:`~.masking.PatchMasker` kwargs)::

    dict(type='GKDFeatureLoss', ..., student='s4', teacher='rgbt.t4',
         masker=dict(patch_size=32, mask_prob=0.5, mask_ratio=0.5))

The masked pass runs the student's backbone (and its decode head when the tap lies there) once per
step and masker; the normal pass's tap recordings are kept (:meth:`TapRecorder.isolated`).
"""

from __future__ import annotations

from typing import Any, Dict

from crossmodal.models.distill.protocol import DistillStep, LossInput, register_loss_input

from .masking import PatchMasker


@register_loss_input
class MaskedStudentInput(LossInput):
    name = 'masked_student'
    spec_key = 'masker'

    def __init__(self, options=None) -> None:
        super().__init__(options)
        self.masker = PatchMasker(**self.options)

    def __call__(self, step: DistillStep, spec: dict) -> Dict[str, Any]:
        key = (self.name, id(self))
        if key not in step.cache:
            model = step.model
            masked, _ = self.masker(step.student_input)
            with model.student_taps.isolated() as taps:
                feats = model.student.extract_feat(masked)
                if not taps.has(spec['student']):
                    model.student.decode_head.forward(feats)
                step.cache[key] = taps.get(spec['student'])
        return {'student_feat_masked': step.cache[key]}
