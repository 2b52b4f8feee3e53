# RGBI-only SegFormer MiT-B2 regression student trained on the LiDAR targets alone (baseline; no teacher).
# 4-channel patch embedding adapted from ImageNet MiT-B2 (configs/_base_/pretrained/mit_imagenet.py).
# Recipe: 1 GPU x 2 images (global batch 2). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 2; add --auto-scale-lr (LR x global/2)
# or set train_dataloader.batch_size to 2/N.
_base_ = [
    '../../_base_/models/fskd_student_segformer_mit-b0.py', '../../_base_/datasets/forest_rgbi20cm.py',
    '../../_base_/default_runtime.py', '../../_base_/schedules/schedule_80k.py',
    '../../_base_/pretrained/mit_imagenet.py'
]
model = dict(
    data_preprocessor=dict(mean={{_base_.rgbi_mean}}, std={{_base_.rgbi_std}}, size={{_base_.crop_size}}),
    backbone=dict(embed_dims=64, num_layers=[3, 4, 6, 3], init_cfg={{_base_.mit_b2_init}}),
    decode_head=dict(in_channels=[64, 128, 320, 512], channels=768, target_scales={{_base_.target_scales}}))
train_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_test_pipeline}}))
test_dataloader = val_dataloader
default_hooks = dict(checkpoint=dict(save_best='chm_MAE', rule='less'))
auto_scale_lr = dict(enable=False, base_batch_size=2)
