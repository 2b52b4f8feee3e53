# MFNet RGB-T (Ha et al., IROS 2017) as written by data_prep/mfnet.py: RGB/ + Thermal/ (uint8, 1 ch)
# + Label/ (0..8, "unlabeled" is class 0 and counts in mIoU, RTFNet/RTFDNet convention), 640x480,
# splits train 784 / val 392 / test 393 (data_prep/mfnet.py --trainval adds trainval = 1176).
# Protocol (docs/design.md §8): train on `train`, validate (and keep the best checkpoint) on `val`,
# report on `test`. To train on train+val as CMX and Sigma do, convert with `data_prep/mfnet.py
# --trainval` and validate on test (val frames are then training frames; meta.json lists no `val`):
#   --cfg-options train_dataloader.dataset.split=trainval val_dataloader.dataset.split=test
# Augmentation follows RTFDNet's released MF config (docs/methods/rtfdnet.md (b')): random resize ratio
# 0.5-1.75, 480x640 crop with cat_max_ratio 0.75, flip 0.5, photometric distortion on RGB.
# `train_pipeline`/`test_pipeline` feed RGB-X models (dict inputs); `student_*` feed stock RGB students.
dataset_type = 'RGBXSegDataset'
data_root = 'data/MFNet'
modalities = ('rgb', 'thermal')
crop_size = (480, 640)
num_classes = 9
# Thermal: 1-channel uint8. The released code replicates it to 3 channels normalised with the
# ImageNet statistics; 114.5 / 57.6 are their channel averages (the 1-channel equivalent).
# Replace with the dataset's own thermal mean/std when computed (docs/methods/rtfdnet.md (e).6).
modality_mean = dict(rgb=[123.675, 116.28, 103.53], thermal=[114.495])
modality_std = dict(rgb=[58.395, 57.12, 57.375], thermal=[57.63])
geometric_aug = dict(
    type='JointGeometricAug',
    transforms=[
        dict(type='RandomScale', scale_limit=(-0.5, 0.75), p=1.0),
        dict(type='HorizontalFlip', p=0.5),
    ])
random_crop = dict(type='MultiModalRandomCrop', crop_size=crop_size, cat_max_ratio=0.75)
rgb_photometric = dict(
    type='ModalityPhotometricAug',
    modality='rgb',
    transforms=[dict(type='ColorJitter', brightness=0.125, contrast=0.5, saturation=0.5, hue=0.05, p=0.5)])
train_pipeline = [
    dict(type='LoadMultiModalFromFile'), geometric_aug, random_crop, rgb_photometric,
    dict(type='PackMultiModalInputs')
]
test_pipeline = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')]
student_train_pipeline = [
    dict(type='LoadMultiModalFromFile'), geometric_aug, random_crop, rgb_photometric,
    dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)
]
student_test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', modalities=modalities,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
