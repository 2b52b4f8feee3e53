# FSKD teacher (reconstruction of arXiv 2604.01766; docs/methods/fskd.md (b)): RGBI MiT + LiDAR planar-metric MiT
# + per-cell vertical-profile MLP, cross-attention fusion (RGBI tokens query LiDAR tokens) at MiT stages
# 3-4 (fusion_stages 0-based), SegFormer regression head (CHM, PAI, FHD).
norm_cfg = dict(type='BN', requires_grad=True)
mit = dict(
    type='MiT',
    pretrained_path=None,
    in_channels=4,
    embed_dims=32,
    num_stages=4,
    num_layers=[2, 2, 2, 2],
    num_heads=[1, 2, 5, 8],
    patch_sizes=[7, 3, 3, 3],
    sr_ratios=[8, 4, 2, 1],
    out_indices=(0, 1, 2, 3),
    mlp_ratio=4,
    qkv_bias=True,
    drop_rate=0.0,
    attn_drop_rate=0.0,
    drop_path_rate=0.1)
model = dict(
    type='FSKDTeacher',
    data_preprocessor=dict(type='MultiModalDataPreprocessor'),
    backbone=mit,
    lidar_backbone=dict(mit, in_channels=5),
    planar_channels=[0, 1, 2, 3, 4],
    profile_channels=[],
    profile_hidden=32,
    fusion=dict(type='CrossAttentionFusion', mlp_ratio=2.0, pos_encoding=True, add_aligned=True),
    fusion_stages=(2, 3),
    fusion_num_heads=(1, 2, 5, 8),
    fusion_sr_ratios=(8, 4, 2, 1),
    decode_head=dict(
        type='SegformerRegressionHead',
        target_names=('chm', 'pai', 'fhd'),
        target_scales=[10.0, 1.0, 1.0],
        activation='softplus',
        in_channels=[32, 64, 160, 256],
        in_index=[0, 1, 2, 3],
        channels=256,
        dropout_ratio=0.1,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='MaskedL1Loss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
