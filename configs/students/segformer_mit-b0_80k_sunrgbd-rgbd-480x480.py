# RGB-only SegFormer MiT-B0 student for sunrgbd-rgbd (the no-distillation baseline), 80k iterations,
# from ImageNet MiT-B0 (configs/_base_/pretrained/mit_imagenet.py).
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/sunrgbd_rgbd.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py',
    '../_base_/pretrained/mit_imagenet.py'
]
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(init_cfg={{_base_.mit_b0_init}}),
    decode_head=dict(num_classes={{_base_.num_classes}}))
train_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_test_pipeline}}))
test_dataloader = val_dataloader
