# CroDiNo-KD (arXiv 2505.24361) on the embedded benchmark v3 (RGB-D): the RGB twin's SegFormer and
# the v3 depth-only SegFormer (both from the synthetic-pretrained tiny MiT) co-trained in one run,
# no teacher. Method settings as configs/distill/crodino/crodino_segformer_mit-t_600it_synthetic-rgbd-128x160.py
# (a RECONSTRUCTION of the unpublished code: docs/methods/crodino.md (b)); lambda_con / lambda_orth
# 0.1 are the weights chosen on the v2 data, the harness's grid tries 0.1 / 0.3 / 1.0 on v3's val.
# Decoupled augmentation: shared geometry, depth scale jitter / noise / holes drawn for depth only;
# the RGB colour jitter is off so that the RGB model sees exactly the twin's pipeline (v3's RGB is
# already degraded by the generator) and the row measures the co-training, not an augmentation.
# Scored as a user would: tools/test.py reports mIoU_rgb (= mIoU) and mIoU_depth.
_base_ = [
    '../_base_/datasets/synthetic_v3_rgbd.py', '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_v3.py'
]
rgb_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py'
depth_config = '{{ fileDirname }}/../students/segformer_mit-t_800it_synthetic-v3-depth-128x160.py'
model = dict(
    type='CroDiNoKD',
    models=dict(rgb=rgb_config, depth=depth_config),
    model_modalities=dict(rgb=('rgb', ), depth=('depth', )),
    z_dim=None,  # C/2 = 32 of the 64 head channels
    lambda_aux=1.0,
    lambda_con=0.1,
    lambda_orth=0.1,
    lambda_mod=0.0,
    # 96x128 crops -> 12x16 = 192 cells at stride 8 per image; 128 of them (8 images: 1024 pixels)
    contrastive=dict(tau=0.1, pixels_per_img=128, stride_factor=2),
    aux_head=dict(dropout_ratio=0.1),
    branch='rgb')
depth_photometric = dict(
    type='DepthPhotometricAug', modality='depth', scale_range=(0.9, 1.1), scale_p=0.5,
    noise_std=0.0, noise_rel=0.01, noise_p=0.5, hole_p=0.5, max_holes=3, hole_size=(0.05, 0.2))
train_pipeline = [
    dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
    depth_photometric,
    dict(type='PackMultiModalInputs', modalities=('rgb', 'depth'))
]
test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs', modalities=('rgb', 'depth'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
val_evaluator = dict(
    type='MultiHeadIoUMetric', iou_metrics=['mIoU'],
    heads=dict(rgb='pred_sem_seg_rgb', depth='pred_sem_seg_depth'), main='rgb')
test_evaluator = val_evaluator
