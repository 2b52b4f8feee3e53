"""Choose the DHO mix weight alpha on a split, for a grid of alphas in one forward pass.

A :class:`~crossmodal.models.heads.dual_head_segformer.DualHeadSegformerHead` predicts
``alpha * z_label + (1 - alpha) * z_kd`` in eval mode. :func:`sweep_alpha` runs the student once
per batch, keeps both heads' logits, and scores every alpha of the grid from them:

1. the batch goes through the model's ``data_preprocessor`` (as in ``val_step``); a distiller's
   student gets its routed input (``model.student_inputs``), a plain ``EncoderDecoder`` its own;
2. backbone -> fused decoder feature -> both 1x1 heads (:meth:`forward_heads`), each
   (B, K, H/4, W/4);
3. the two are concatenated to (B, 2K, H/4, W/4) and post-processed by mmseg's own code, as
   ``EncoderDecoder.predict`` does for one head: ``decode_head.predict_by_feat`` (bilinear to the
   padded input size) then ``postprocess_result`` (padding removed, flip undone, bilinear to
   ``ori_shape``). Every step is linear and per channel, so mixing after it equals mixing before;
4. per alpha: mix, argmax (a 1-channel head: sigmoid > threshold), mmseg's ``IoUMetric``
   intersection / union against ``gt_sem_seg`` (``ignore_index`` skipped), summed over the split.

mIoU is mmseg's (mean over classes of the summed IoU, classes absent from both prediction and
labels ignored), in percent. Only ``test_cfg.mode='whole'`` is supported (every config of this
project). CLI: ``tools/select_alpha.py``.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

__all__ = [
    'DEFAULT_ALPHAS',
    'alpha_sweep_summary',
    'dual_head_student',
    'head_logits',
    'sweep_alpha',
]

DEFAULT_ALPHAS = (0.0, 0.25, 0.5, 0.75, 1.0)


def dual_head_student(model: nn.Module) -> Tuple[nn.Module, nn.Module]:
    """``(student, head)``: the ``EncoderDecoder`` holding a ``DualHeadSegformerHead`` (``model``
    itself, or a distiller's ``model.student``) and that head; ``ValueError`` otherwise."""
    from crossmodal.models.heads.dual_head_segformer import DualHeadSegformerHead

    student = getattr(model, 'student', model)
    head = getattr(student, 'decode_head', None)
    if not isinstance(head, DualHeadSegformerHead):
        where = 'model.student' if student is not model else 'the model'
        raise ValueError(
            f'{where} ({type(student).__name__}) has decode head {type(head).__name__}, not a '
            f'DualHeadSegformerHead: alpha selection is for DHO students '
            f"(student decode_head=dict(type='DualHeadSegformerHead', ...))"
        )
    mode = (getattr(student, 'test_cfg', None) or {}).get('mode', 'whole')
    if mode != 'whole':
        raise ValueError(
            f"alpha selection supports test_cfg.mode='whole' only; the student uses {mode!r}"
        )
    return student, head


@torch.no_grad()
def head_logits(model: nn.Module, batch: dict) -> Tuple[torch.Tensor, torch.Tensor, list]:
    """Both heads' logits of one dataloader batch, post-processed like ``EncoderDecoder.predict``.

    Returns:
        ``(z_label, z_kd, data_samples)``: z_* (B, K, H_i, W_i) when every sample has the same
        ``ori_shape`` (else lists of (K, H_i, W_i)), at each sample's ``ori_shape``; the
        pre-processed data samples (with ``gt_sem_seg``).
    """
    from mmseg.structures import SegDataSample

    student, head = dual_head_student(model)
    data = model.data_preprocessor(batch, False)
    inputs, samples = data['inputs'], data['data_samples']
    x = model.student_inputs(inputs) if student is not model else inputs
    z_label, z_kd = head.forward_heads(student.extract_feat(x))
    k = z_label.shape[1]
    metas = [s.metainfo for s in samples]
    both = head.predict_by_feat(torch.cat([z_label, z_kd], dim=1), metas)
    out = student.postprocess_result(both, [SegDataSample(metainfo=m) for m in metas])
    labels = [o.seg_logits.data[:k] for o in out]
    kds = [o.seg_logits.data[k:] for o in out]
    if len({tuple(t.shape) for t in labels}) == 1:
        return torch.stack(labels), torch.stack(kds), samples
    return labels, kds, samples


def _predict(logits: torch.Tensor, head) -> torch.Tensor:
    """(K, H, W) logits -> (H, W) labels as mmseg's ``postprocess_result``."""
    if logits.shape[0] > 1:
        return logits.argmax(dim=0)
    return (logits.sigmoid() > head.threshold).long()[0]


def sweep_alpha(
    model: nn.Module,
    dataloader: Iterable,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    ignore_index: int = 255,
    progress: bool = False,
) -> dict:
    """mIoU of the DHO student for every alpha of ``alphas``, from one pass over ``dataloader``.

    Args:
        model: a built model (eval mode is set for the pass, the old mode restored) whose student
            has a ``DualHeadSegformerHead``: an ``EncoderDecoder`` or a ``DistillSegmentor``.
        dataloader: yields batches as ``val_step`` takes them (``dict(inputs, data_samples)``, the
            samples with ``gt_sem_seg``).
        alphas: the grid (each in [0, 1]; duplicates removed, order kept).
        ignore_index: label value not scored (the evaluator's).
        progress: show a progress bar (tqdm, on stderr).

    Returns:
        ``dict(mIoU={alpha: mIoU in %}, best_alpha, best_mIoU, num_samples, alphas)``; the best is
        the first maximum in the order of ``alphas``.

    Raises:
        ValueError: no DHO head (see :func:`dual_head_student`), a bad alpha, an empty split, a
            sample without ``gt_sem_seg``, or no labelled pixel at all.
    """
    from mmseg.evaluation.metrics import IoUMetric

    from crossmodal.models.heads.dual_head_segformer import check_alpha

    grid = list(dict.fromkeys(check_alpha(a, 'alphas') for a in alphas))
    if not grid:
        raise ValueError('sweep_alpha: no alphas given')
    student, head = dual_head_student(model)
    num_classes = int(head.num_classes)
    totals: Dict[float, list] = {a: [0, 0, 0, 0] for a in grid}
    n = 0
    batches = dataloader
    if progress:
        from tqdm import tqdm

        total = len(dataloader) if hasattr(dataloader, '__len__') else None
        batches = tqdm(
            dataloader, total=total, desc='alpha sweep', unit='batch', dynamic_ncols=True
        )
    was_training = model.training
    model.eval()
    try:
        for batch in batches:
            z_label, z_kd, samples = head_logits(model, batch)
            for i, sample in enumerate(samples):
                if 'gt_sem_seg' not in sample:
                    raise ValueError(
                        f'sweep_alpha: sample {n} ({sample.metainfo.get("img_path", "?")}) has no '
                        f'gt_sem_seg; alpha selection needs a labelled split'
                    )
                gt = sample.gt_sem_seg.data.squeeze()
                for a in grid:
                    pred = _predict(head.mix(z_label[i], z_kd[i], a), head)
                    areas = IoUMetric.intersect_and_union(
                        pred, gt.to(pred.device), num_classes, ignore_index
                    )
                    for j, area in enumerate(areas):
                        totals[a][j] = totals[a][j] + area.cpu()
                n += 1
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError('sweep_alpha: the dataloader yielded no samples')
    miou = {}
    for a in grid:
        if float(totals[a][3].sum()) == 0:
            raise ValueError(
                f'sweep_alpha: no labelled pixel (every label is ignore_index={ignore_index})'
            )
        metrics = IoUMetric.total_area_to_metrics(*totals[a], ['mIoU'])
        iou = metrics['IoU']
        iou = iou.numpy() if hasattr(iou, 'numpy') else np.asarray(iou)
        miou[a] = float(np.nanmean(iou) * 100)
    best = max(grid, key=lambda a: (miou[a], -grid.index(a)))
    return dict(
        mIoU=miou,
        best_alpha=best,
        best_mIoU=miou[best],
        num_samples=n,
        alphas=grid,
    )


def alpha_sweep_summary(result: dict, config_alpha: Optional[float] = None) -> dict:
    """JSON-ready form of :func:`sweep_alpha`'s result (alpha keys as strings, mIoU rounded to
    4 decimals), with the config's alpha and its mIoU when it is on the grid."""
    out = dict(
        mIoU={f'{a:g}': round(v, 4) for a, v in result['mIoU'].items()},
        best_alpha=result['best_alpha'],
        best_mIoU=round(result['best_mIoU'], 4),
        num_samples=result['num_samples'],
    )
    if config_alpha is not None:
        out['config_alpha'] = config_alpha
        if config_alpha in result['mIoU']:
            out['config_alpha_mIoU'] = round(result['mIoU'][config_alpha], 4)
    return out
