# SUN RGB-D (Song et al., CVPR 2015) as written by data_prep/sunrgbd.py (docs/design.md §3 layout): RGB/ (.jpg)
# + Depth/ (uint16 mm, bit rotation undone, clipped at 8 m; float32 metres after loading) + Label/,
# 37 classes (seg37list; stored 0 = unlabeled -> label_offset -1, i.e. void -> 255, as CMX/DFormer's
# gt - 1), official split 5285 train / 5050 test (no val split: validate on test, the community
# convention). Frames come from four sensors and differ in size (about 530x730, smaller for Kinect v1):
# training uses mmseg-style random scale + 480x480 crop (as CMX and DFormer; smaller frames are padded,
# image 0 / label 255), so every training batch has one size; testing is whole-image at the stored
# size with batch_size=1 (no padding needed, predictions scored at the stored size).
# The depth mean/std are the approximate NYU statistics in metres (SUN RGB-D contains the NYU frames);
# replace them with the values computed by tools/check_dataset.py on your copy.
dataset_type = 'RGBXSegDataset'
data_root = 'data/SUNRGBD'
modalities = ('rgb', 'depth')
crop_size = (480, 480)
num_classes = 37
modality_mean = dict(rgb=[123.675, 116.28, 103.53], depth=[2.7])
modality_std = dict(rgb=[58.395, 57.12, 57.375], depth=[1.2])
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
    transforms=[dict(type='ColorJitter', brightness=0.2, contrast=0.2, saturation=0.2, hue=0.0, p=0.5)])
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
# batch_size=1: frames differ in size, and whole-image testing does not pad
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
