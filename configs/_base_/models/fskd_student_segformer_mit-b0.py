# FSKD RGBI-only student (reconstruction of arXiv 2604.01766; docs/methods/fskd.md (b)): SegFormer MiT with a
# 4-channel patch embedding (set backbone.init_cfg=dict(type='PretrainedMiT', checkpoint=<RGB MiT>): its RGB filters are
# adapted to R,G,B,NIR by crossmodal.models.backbones.adapt_input_conv) and a 3-output regression head
# (CHM, PAI, FHD; softplus, per-target scales), masked L1 vs the LiDAR targets (NaN = no data).
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53, 127.5],
    std=[58.395, 57.12, 57.375, 64.0],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='RegressionEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
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
        drop_path_rate=0.1),
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
