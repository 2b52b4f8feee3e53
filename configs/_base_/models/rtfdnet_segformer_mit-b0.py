# RTFDNet (arXiv 2603.09149): RGB stream + X stream (MiT-B0 each), SFF at every stage feeding a
# fused stream, three SegFormer heads; losses CE (all heads) + CMDR + RDR (docs/methods/rtfdnet.md).
# The dataset config sets `modalities` and the per-modality mean/std.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='MultiModalDataPreprocessor',
    mean=dict(rgb=[123.675, 116.28, 103.53]),
    std=dict(rgb=[58.395, 57.12, 57.375]),
    pad_val=dict(),
    seg_pad_val=255)
model = dict(
    type='RTFDNet',
    modalities=('rgb', 'thermal'),
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
    # spatial_attn=True: the paper's SFF; False reproduces the released code (plain average)
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
    # loss weights of the released MiT-B2 configs (CE / MCE / AKD / RL1 = 0.5 / 1.0 / 0.5 / 1.0)
    w_ce=0.5,
    w_mce=1.0,
    w_akd=0.5,
    w_rdr=1.0,
    # paper defaults; released code: akd_alpha='random', akd_detach_fused=False, mask_void=False
    akd_alpha='learned',
    # CMDR gate sigmoid(C p(F^m) p(F^f)): one pooling MLP per stage for both sides (paper, code);
    # 'separate' = the project's earlier gate (closes itself). akd_detach_gate / akd_gate_norm
    # ('mean') are project options, off here.
    akd_gate_mlps='shared',
    akd_detach_gate=False,
    akd_gate_norm=None,
    akd_detach_fused=True,
    akd_reduction=16,
    rdr_conf_thr=0.0,
    mask_void=True,
    # logit-level terms: 'supervised' = the class_weight of decode_head.loss_decode (None when the
    # CE is unweighted, as here: then paper/code behaviour); None = unweighted; or a list of K.
    mce_class_weight='supervised',
    rdr_class_weight=None,
    branch='fused',
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
