# GKD stage 1 (docs/methods/gkd.md): task-agnostic feature distillation with QSD on the student's stage-4
# tokens, the RGB-T teacher's fused stage-4 map as keys/targets. Unlabelled: with_label=False, the
# dataset loads no labels and only the GKD losses (L_feat + L_mask + L_cls) train the student
# encoder. Run both stages with tools/train_stages.py gkd_segformer_mit-t_600it_synthetic-rgbt-128x160.py
# Masked branch (L_mask; crossmodal/models/methods/gkd/masking.py): fill='mean' fills the masked 32x32
# patches with the image's per-channel mean (project default, [RECON] docs/methods/gkd.md (e).4);
# fill='token', token_dims=16 is the released code's learned mask token substituted after the first
# patch embedding; fill='zero' warns: it feeds zero-variance tokens to the first LayerNorm, whose
# backward blows the gradient of the first patch embedding up by ~1e6 and freezes it under AdamW.
# QSD stays on the stage-4 tokens only: GKD distils the teacher's last layer only (released code;
# no multi-layer variant recorded for the paper, docs/methods/gkd.md (b)), so multi-stage QSD is NOT
# enabled here. It is a project
# extension: one GKDFeatureLoss per extra stage, e.g. student_taps stage3='backbone[2]', teacher
# taps stage3='fusions.2', dict(type='GKDFeatureLoss', student_dims=80, teacher_dims=80,
# student='stage3', teacher='rgbt.stage3', masker=<the same dict>, name='loss_gkd_s3'); losses
# with equal masker dicts share one masked pass (docs/methods/gkd.md (e).1).
_base_ = [
    '../../_base_/datasets/synthetic_rgbt.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_tiny.py'
]
teacher_config = '{{ fileDirname }}/../../teachers/rgbx-sff-segformer_mit-t_600it_synthetic-rgbt-128x160.py'
teacher_checkpoint = 'work_dirs/demo/teacher/iter_600.pth'
student_config = '{{ fileDirname }}/../../students/segformer_mit-t_600it_synthetic-rgbt-128x160.py'
max_iters = 300
model = dict(
    type='DistillSegmentor',
    student=student_config,
    student_modalities=('rgb', ),
    with_label=False,
    teachers=dict(
        rgbt=dict(config=teacher_config, checkpoint=teacher_checkpoint, modalities=('rgb', 'thermal'),
                  taps=dict(stage4='fusions.3'))),
    student_taps=dict(stage4='backbone[3]'),
    distill_losses=[
        dict(type='GKDFeatureLoss', student_dims=128, teacher_dims=128, lambda_feat=1.0,
             lambda_mask=1.0, lambda_cls=1.0, student='stage4', teacher='rgbt.stage4',
             masker=dict(patch_size=32, mask_prob=0.5, mask_ratio=0.5, fill='mean'),
             name='loss_gkd'),
    ])
unlabelled_train_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='JointGeometricAug', transforms=[dict(type='HorizontalFlip', p=0.5)]),
    dict(type='PackMultiModalInputs')
]
train_dataloader = dict(dataset=dict(with_label=False, pipeline=unlabelled_train_pipeline))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=25),
    dict(type='CosineAnnealingLR', eta_min=1e-5, begin=25, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
custom_hooks = [dict(type='RNGStateHook'), dict(type='TeacherEvalHook')]
