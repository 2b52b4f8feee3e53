# RTFDNet (arXiv 2603.09149) on PST900 (5 classes incl. background), MiT-B2 per stream, SFF fusion,
# three SegFormer heads; mIoU of the RGB, thermal and fused heads every validation.
# Frames resized to 360x640, crop 360x640, batch 8 and loss weights
# (CE / MCE / AKD / RDR = 0.5 / 1.0 / 0.5 / 1.0) as the
# released PST-B2 config (docs/methods/rtfdnet.md (b')); schedule = mmseg's SegFormer recipe recommended in
# docs/methods/rtfdnet.md (e).5 (AdamW 6e-5, wd 0.01, head lr x10, 1.5k warm-up + poly, 40k iterations) instead
# of the released epoch-based cosine settings. Released code used AMP: train with `--amp` on GPUs.
# Initialisation: ImageNet MiT-B2 in both streams (docs/methods/rtfdnet.md (e).7 option (i)), from
# configs/_base_/pretrained/mit_imagenet.py; model.backbone.init_cfg=None trains from scratch.
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../../_base_/models/rtfdnet_segformer_mit-b0.py', '../../_base_/datasets/pst900_rgbt.py',
    '../../_base_/default_runtime.py', '../../_base_/schedules/schedule_40k.py',
    '../../_base_/pretrained/mit_imagenet.py'
]
model = dict(
    modalities={{_base_.modalities}},
    data_preprocessor=dict(
        mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=dict(embed_dims=64, num_layers=[3, 4, 6, 3], init_cfg={{_base_.mit_b2_init}}),
    decode_head=dict(in_channels=[64, 128, 320, 512], channels=256, num_classes={{_base_.num_classes}}))
val_evaluator = dict(type='MultiHeadIoUMetric', iou_metrics=['mIoU'], main='fused')
test_evaluator = val_evaluator
