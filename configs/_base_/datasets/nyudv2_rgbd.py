# NYU Depth v2 (labeled subset) as written by data_prep/ (docs/design.md §3 layout): 795 train / 654 test,
# 40 classes (Gupta et al. 2013 mapping; stored 0 = void -> label_offset -1), 480x640 frames,
# depth float32 metres after loading (docs/design.md §3). Convert with data_prep (see data_prep/README).
# No val split: validate (and keep the best checkpoint) on test, the community convention (CMX, DFormer).
# The depth mean/std are approximate statistics of NYU depth in metres (about 0.7-10 m); replace them
# with the values computed by tools/check_dataset.py on your copy if they differ.
dataset_type = 'RGBXSegDataset'
data_root = 'data/nyudv2'
modalities = ('rgb', 'depth')
crop_size = (480, 640)
num_classes = 40
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
