# FMB RGB-T (Liu et al., ICCV 2023) as written by data_prep/fmb.py: RGB/ (Visible) + Thermal/
# (Infrared, uint8, 1 ch) + Label/ (stored 0 = void, 1..14 -> train ids 0..13), 800x600,
# train 1220 / test 280 (no val split: validate on test, as the community does).
# RTFDNet's released FMB config (docs/methods/rtfdnet.md (b')): random resize ratio 0.5-2.0, 480x640 crop with
# cat_max_ratio 0.75, NO flip, photometric distortion on RGB; whole-image test at 600x800.
# `train_pipeline`/`test_pipeline` feed RGB-X models (dict inputs); `student_*` feed stock RGB students.
dataset_type = 'RGBXSegDataset'
data_root = 'data/FMB'
modalities = ('rgb', 'thermal')
crop_size = (480, 640)
num_classes = 14
# Thermal: 1-channel uint8. The released FMB config leaves thermal unnormalised (mean 0, std 1);
# docs/methods/rtfdnet.md (e).6 recommends normalising it: 114.5 / 57.6 = ImageNet channel averages, as for MFNet.
# Replace with the dataset's own thermal mean/std when computed (docs/methods/rtfdnet.md (e).6).
modality_mean = dict(rgb=[123.675, 116.28, 103.53], thermal=[114.495])
modality_std = dict(rgb=[58.395, 57.12, 57.375], thermal=[57.63])
geometric_aug = dict(
    type='JointGeometricAug',
    transforms=[
        dict(type='RandomScale', scale_limit=(-0.5, 1.0), p=1.0),
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
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
