# RGB-X teacher (MiT-B2 per modality, SFF fusion, SegFormer head) for mfnet-rgbt, 80k iterations.
# Every branch starts from ImageNet MiT-B2 (configs/_base_/pretrained/mit_imagenet.py): the X
# branch's 1-channel patch embedding is adapted from the RGB filters.
# Recipe: 1 GPU x 8 images (global batch 8). `batch_size` is per process: with N processes
# (tools/dist_train.sh <cfg> N) the global batch is N x 8; add --auto-scale-lr (LR x global/8)
# or set train_dataloader.batch_size to 8/N.
_base_ = [
    '../_base_/models/rgbx_segformer_mit-b2.py', '../_base_/datasets/mfnet_rgbt.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py',
    '../_base_/pretrained/mit_imagenet.py'
]
model = dict(
    modalities={{_base_.modalities}},
    data_preprocessor=dict(
        mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=dict(init_cfg={{_base_.mit_b2_init}}),
    decode_head=dict(num_classes={{_base_.num_classes}}))
