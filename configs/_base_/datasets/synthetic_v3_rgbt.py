# Embedded benchmark v3, RGB-T (data_prep/synthetic_v3.py): 8 classes, 128x160 street scenes where
# RGB carries the information in a hard form (low light with shot noise, posterisation, motion
# blur, clutter, thin structures) and thermal makes it easy. Splits: train 1000, val 250 (model
# selection, the `val_dataloader`), test 500 (read once per final setting, the `test_dataloader`).
# `train_pipeline`/`test_pipeline` feed an RGB-X teacher (a dict of every modality the dataset
# loads); the `student_*` pipelines feed a stock mmseg RGB student (one stacked RGB tensor).
dataset_type = 'RGBXSegDataset'
data_root = 'data/synthetic_v3'
modalities = ('rgb', 'thermal')
# training crops (the frames are 128x160; validation and test see whole frames)
crop_size = (96, 128)
num_classes = 8
# per-class CE weights sqrt(median frequency / frequency) over the train split (cones are 0.6 % of
# the pixels, background 35 %)
class_weight = [0.5, 0.8, 0.6, 1.5, 0.7, 2.3, 2.4, 3.7]
modality_mean = dict(rgb=[123.675, 116.28, 103.53], thermal=[90.0])
modality_std = dict(rgb=[58.395, 57.12, 57.375], thermal=[20.0])
geometric_aug = dict(
    type='JointGeometricAug',
    transforms=[
        dict(type='RandomScale', scale_limit=(-0.2, 0.3), p=1.0),
        dict(type='HorizontalFlip', p=0.5),
    ])
random_crop = dict(type='MultiModalRandomCrop', crop_size=crop_size, cat_max_ratio=0.9)
train_pipeline = [
    dict(type='LoadMultiModalFromFile'), geometric_aug, random_crop,
    dict(type='PackMultiModalInputs')
]
test_pipeline = [dict(type='LoadMultiModalFromFile'), dict(type='PackMultiModalInputs')]
student_train_pipeline = [
    dict(type='LoadMultiModalFromFile'), geometric_aug, random_crop,
    dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)
]
student_test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', modalities=modalities,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
