# RGB-X teacher, MiT-B0 per modality + SFF fusion per stage + SegFormer head.
# # The dataset config sets `modalities` and the per-modality mean/std.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='MultiModalDataPreprocessor',
    mean=dict(rgb=[123.675, 116.28, 103.53]),
    std=dict(rgb=[58.395, 57.12, 57.375]),
    pad_val=dict(),
    seg_pad_val=255)
model = dict(
    type='MultiModalEncoderDecoder',
    modalities=('rgb', 'depth'),
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MiT',
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
        drop_path_rate=0.1),
    fusion=dict(type='SFF', reduction=4, spatial_attn=True),
    decode_head=dict(
        type='SegformerHead',
        in_channels=[32, 64, 160, 256],
        in_index=[0, 1, 2, 3],
        channels=256,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0, avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
