# FSKD teacher (RGBI + LiDAR, cross-attention) on the synthetic forest, tiny MiT (embed 16, one layer per
# stage), 300 iterations on CPU. Reconstruction of FSKD (no code released; docs/methods/fskd.md (b)).
# On 64 px tiles stages 3-4 are 4x4 / 2x2 tokens, so the tiny teacher fuses at every stage (with the
# MiT spatial reductions); the MiT-B5 config keeps the paper-style stages 3-4.
_base_ = [
    '../../_base_/models/fskd_teacher_mit-b0.py', '../../_base_/datasets/synthetic_forest.py',
    '../../_base_/default_runtime.py', '../../_base_/schedules/schedule_fskd_tiny.py'
]
tiny = dict(embed_dims=16, num_layers=[1, 1, 1, 1], drop_path_rate=0.0)
model = dict(
    data_preprocessor=dict(mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=tiny,
    lidar_backbone=dict(tiny, in_channels=5),
    lidar_in_channels={{_base_.lidar_in_channels}},
    planar_channels={{_base_.lidar_planar_channels}},
    profile_channels={{_base_.lidar_profile_channels}},
    profile_hidden=16,
    fusion_stages=(0, 1, 2, 3),
    fusion_num_heads=(1, 1, 1, 1),
    decode_head=dict(in_channels=[16, 32, 80, 128], channels=64, target_scales={{_base_.target_scales}}))
