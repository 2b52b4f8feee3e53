"""``TeacherEvalHook``: evaluate every teacher once on the val dataloader before training.

Logs ``teacher.<name>.mIoU`` (and every other metric of the val evaluator) once, so a distillation
run states how good its teachers are in *our* harness (docs/design.md §8, mmrazor issue #360),
without mmrazor's second full val pass at every evaluation.
"""

from __future__ import annotations

import copy
from typing import Dict, Optional, Sequence

import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class TeacherEvalHook(Hook):
    """Run each teacher of a :class:`DistillSegmentor` over the val dataloader in ``before_train``.

    Args:
        teachers: names to evaluate (None = all).
        max_batches: evaluate on the first N batches only (None = the whole val set).
        skip_on_resume: do not re-evaluate when training resumes from a checkpoint.

    The metrics are logged as ``teacher.<name>.<metric>`` in the message hub (visible in the log
    and in the scalar backends) and kept in ``self.results``.
    """

    priority = 'VERY_LOW'

    def __init__(
        self,
        teachers: Optional[Sequence[str]] = None,
        max_batches: Optional[int] = None,
        skip_on_resume: bool = True,
    ) -> None:
        self.teachers = tuple(teachers) if teachers is not None else None
        self.max_batches = max_batches
        self.skip_on_resume = skip_on_resume
        self.results: Dict[str, dict] = {}

    def before_train(self, runner) -> None:
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        if not hasattr(model, 'teacher_predict'):
            raise TypeError(f'TeacherEvalHook needs a DistillSegmentor, got {type(model).__name__}')
        if self.skip_on_resume and runner.iter > 0:
            return
        names = self.teachers if self.teachers is not None else tuple(model.teachers)
        unknown = [n for n in names if n not in model.teachers]
        if unknown:
            raise ValueError(
                f'TeacherEvalHook: unknown teachers {unknown}; the model has '
                f'{sorted(model.teachers)}'
            )
        if not names:
            return
        dataloader = (
            runner.val_dataloader if runner.val_loop is None else runner.val_loop.dataloader
        )
        # iterating a DataLoader draws from torch's global RNG: fork it so that evaluating the
        # teachers leaves the training run (dropout, drop-path, ...) exactly as without this hook
        with torch.random.fork_rng(devices=[]):
            self._evaluate(runner, model, names, dataloader)

    def _evaluate(self, runner, model, names, dataloader) -> None:
        for name in names:
            evaluator = runner.build_evaluator(copy.deepcopy(runner.cfg.val_evaluator))
            dataset = dataloader.dataset
            if hasattr(dataset, 'metainfo'):
                evaluator.dataset_meta = dataset.metainfo
            was_training = model.training
            model.eval()
            n = 0
            for i, batch in enumerate(dataloader):
                if self.max_batches is not None and i >= self.max_batches:
                    break
                data = model.data_preprocessor(batch, False)
                outputs = model.teacher_predict(name, data['inputs'], data['data_samples'])
                evaluator.process(data_samples=outputs, data_batch=batch)
                n += len(outputs)
            metrics = evaluator.evaluate(n if self.max_batches is not None else len(dataset))
            model.train(was_training)
            self.results[name] = dict(metrics)
            shown = []
            for key, value in metrics.items():
                short = key.split('/')[-1]
                runner.message_hub.update_scalar(f'teacher.{name}.{short}', value)
                if isinstance(value, (int, float)):
                    shown.append(f'teacher.{name}.{short}: {value:.4f}')
            runner.logger.info('Teacher evaluation before training: ' + '  '.join(shown))
