# GKD stage 1 on the embedded benchmark v3: masked query-based feature distillation (QSD) from the
# frozen RGB-T teacher's fused stage-4 tokens into the synthetic-pretrained RGB student, no labels
# (the paper starts stage 1 from a pretrained student; v2 started from scratch and could not show
# the method). Mean fill of the masked patches (docs/methods/gkd.md: a zero fill freezes the first
# patch embedding). 400 iterations: with stage 2's 400 the recipe costs the twin's 800.
_base_ = ['./distill-base_segformer_mit-t_800it_synthetic-v3-rgbt-128x160.py']
max_iters = 400
model = dict(
    with_label=False,
    teachers=dict(rgbt=dict(taps=dict(_delete_=True, stage4='fusions.3'))),
    student_taps=dict(_delete_=True, stage4='backbone[3]'),
    distill_losses=[
        dict(type='GKDFeatureLoss', student_dims=128, teacher_dims=128, lambda_feat=1.0,
             lambda_mask=1.0, lambda_cls=1.0, student='stage4', teacher='rgbt.stage4',
             masker=dict(patch_size=32, mask_prob=0.5, mask_ratio=0.5, fill='mean'),
             name='loss_gkd'),
    ])
unlabelled_train_pipeline = [
    dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
    dict(type='PackMultiModalInputs')
]
train_dataloader = dict(dataset=dict(with_label=False, pipeline=unlabelled_train_pipeline))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=25),
    dict(type='CosineAnnealingLR', eta_min=1e-5, begin=25, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
