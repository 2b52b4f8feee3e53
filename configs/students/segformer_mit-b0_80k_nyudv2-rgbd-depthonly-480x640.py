# Depth-only SegFormer MiT-B0 (1 input channel) for nyudv2-rgbd, 80k iterations: the depth twin of
# CroDiNo-KD's depth model (and a depth-only baseline). Depth is float32 metres after loading; the
# pre-processor normalises it with the dataset's depth mean/std (configs/_base_/datasets/nyudv2_rgbd.py).
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/nyudv2_rgbd.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py',
    '../_base_/pretrained/mit_imagenet.py'
]
model = dict(
    data_preprocessor=dict(
        mean={{_base_.modality_mean.depth}}, std={{_base_.modality_std.depth}}, bgr_to_rgb=False,
        size={{_base_.crop_size}}),
    backbone=dict(in_channels=1, init_cfg={{_base_.mit_b0_init}}),  # RGB filters summed to 1 channel
    decode_head=dict(num_classes={{_base_.num_classes}}))
_depth_train_pipeline = [
    dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
    dict(type='PackMultiModalInputs', modalities=('depth', ), stack=True)
]
_depth_test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs', modalities=('depth', ), stack=True)
]
train_dataloader = dict(dataset=dict(pipeline=_depth_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_depth_test_pipeline))
test_dataloader = val_dataloader
