# The embedded RGB-T dataset (data_prep/synthetic.py --variant rgbt): 4 classes, 128x160 frames,
# half of them night frames where people and vehicles are nearly invisible in RGB.
# `train_pipeline`/`test_pipeline` feed an RGB-X teacher (a dict of every modality the dataset
# loads); the `student_*` pipelines feed a stock mmseg RGB student (one stacked RGB tensor).
dataset_type = 'RGBXSegDataset'
data_root = 'data/synthetic_rgbt'
modalities = ('rgb', 'thermal')
crop_size = (128, 160)
num_classes = 4
# ~84% of pixels are background: embedded-dataset models weight the CE loss per class
# (WeightedCrossEntropyLoss), or an RGB-only model collapses to all-background in 600 iterations.
class_weight = [0.25, 1.0, 1.0, 1.0]
modality_mean = dict(rgb=[123.675, 116.28, 103.53], thermal=[100.0])
modality_std = dict(rgb=[58.395, 57.12, 57.375], thermal=[40.0])
geometric_aug = dict(
    type='JointGeometricAug',
    transforms=[
        dict(type='RandomScale', scale_limit=(-0.25, 0.5), p=1.0),
        dict(type='HorizontalFlip', p=0.5),
    ])
random_crop = dict(type='MultiModalRandomCrop', crop_size=crop_size, cat_max_ratio=0.9)
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
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', modalities=modalities,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', modalities=modalities,
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
