# CroDiNo-KD (arXiv 2505.24361) on NYU Depth v2 (40 classes): RGB and depth SegFormer MiT-B0
# co-trained for 80k iterations (the schedule of configs/students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py).
# RECONSTRUCTION of the unpublished code (docs/methods/crodino.md (b), defaults): split of the 256-d
# fusion_conv feature into z_inv/z_spe (128 each), shared light auxiliary decoder on z_inv,
# pixel-level symmetric InfoNCE (tau 0.1, 2048 pixels per image at stride 8), orthogonality
# (lambda_orth 1; docs/methods/crodino.md suggests 0.1 if it destabilises), decoupled augmentation.
# Depth is fed raw (float metres, 1 channel, normalised with the dataset's depth mean/std), not HHA.
# Memory note: InfoNCE logits are (B*P)^2 = 16384^2 fp32 (1 GiB) for batch 8 and P = 2048.
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../../_base_/datasets/nyudv2_rgbd.py', '../../_base_/default_runtime.py',
    '../../_base_/schedules/schedule_80k.py', '../../_base_/models/crodino_kd.py'
]
rgb_config = '{{ fileDirname }}/../../students/segformer_mit-b0_80k_nyudv2-rgbd-480x640.py'
depth_config = '{{ fileDirname }}/../../students/segformer_mit-b0_80k_nyudv2-rgbd-depthonly-480x640.py'
model = dict(
    models=dict(rgb=rgb_config, depth=depth_config),
    lambda_con=1.0,
    lambda_orth=1.0,
    contrastive=dict(pixels_per_img=2048))
train_pipeline = [
    dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
    {{_base_.rgb_photometric}}, {{_base_.depth_photometric}},
    dict(type='PackMultiModalInputs', modalities=('rgb', 'depth'))
]
test_pipeline = {{_base_.crodino_test_pipeline}}
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = {{_base_.crodino_evaluator}}
test_evaluator = {{_base_.crodino_evaluator}}
