# FSKD teacher on real 20 cm RGBI + LiDAR tiles: MiT-B5 RGBI encoder (4-channel patch embedding adapted
# from the RGB ImageNet MiT-B5 weights), MiT-B0 planar-LiDAR encoder, profile MLP, cross-attention at
# stages 3-4. Reconstruction (docs/methods/fskd.md (b), defaults; capacities per (e)). ImageNet MiT-B5 (RGBI,
# 4 channels) and MiT-B0 (planar LiDAR, 5 channels), both adapted from the RGB filters
# (configs/_base_/pretrained/mit_imagenet.py).
# Recipe: 1 GPU x 2 images (global batch 2). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 2; add --auto-scale-lr (LR x global/2)
# or set train_dataloader.batch_size to 2/N.
_base_ = [
    '../../_base_/models/fskd_teacher_mit-b0.py', '../../_base_/datasets/forest_rgbi20cm.py',
    '../../_base_/default_runtime.py', '../../_base_/schedules/schedule_80k.py',
    '../../_base_/pretrained/mit_imagenet.py'
]
model = dict(
    data_preprocessor=dict(mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=dict(embed_dims=64, num_layers=[3, 6, 40, 3], drop_path_rate=0.1,
                  init_cfg={{_base_.mit_b5_init}}),
    lidar_backbone=dict(in_channels=5, embed_dims=32, num_layers=[2, 2, 2, 2],
                        init_cfg={{_base_.mit_b0_init}}),
    lidar_in_channels={{_base_.lidar_in_channels}},
    planar_channels={{_base_.lidar_planar_channels}},
    profile_channels={{_base_.lidar_profile_channels}},
    profile_hidden=64,
    fusion_stages=(2, 3),
    fusion_num_heads=(1, 2, 5, 8),
    fusion_sr_ratios=(8, 4, 2, 1),
    decode_head=dict(in_channels=[64, 128, 320, 512], channels=768, target_scales={{_base_.target_scales}}))
default_hooks = dict(checkpoint=dict(save_best='chm_MAE', rule='less'))
auto_scale_lr = dict(enable=False, base_batch_size=2)
