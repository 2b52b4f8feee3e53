# MFNet (RGB-T, Ha et al. IROS 2017) as written by data_prep/ (DESIGN.md §3 layout): 480x640 frames,
# 9 classes with 0 = "unlabeled" counted as a class (RTFNet protocol, data.md §1.1), thermal uint8.
# Split: train (784) / test (393) as in data.md; Sigma trains on train+val (1176) - say which.
# The thermal mean/std are approximate (uint8 thermal, FLIR AGC); recompute them on your copy.
_base_ = ['./nyudv2_rgbd.py']
data_root = 'data/mfnet'
modalities = ('rgb', 'thermal')
crop_size = (480, 640)
num_classes = 9
modality_mean = dict(rgb=[123.675, 116.28, 103.53], thermal=[90.0])
modality_std = dict(rgb=[58.395, 57.12, 57.375], thermal=[45.0])
random_crop = dict(type='MultiModalRandomCrop', crop_size=crop_size, cat_max_ratio=0.75)
train_dataloader = dict(dataset=dict(data_root=data_root, modalities=modalities))
val_dataloader = dict(dataset=dict(data_root=data_root, modalities=modalities))
test_dataloader = val_dataloader
