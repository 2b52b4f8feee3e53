# PST900 RGB-T (Shivakumar et al., ICRA 2020) as written by data_prep/pst900.py: RGB/ + Thermal/
# (uint8, 1 ch) + Label/ (0..4, background is class 0 and counts), 1280x720, train 597 / test 288
# (no val split: validate on test, as the community does).
# RTFDNet's released PST config (docs/methods/rtfdnet.md (b')) trains and evaluates at 360x640: every frame is
# first resized to 360x640 (label nearest), then random resize ratio 0.5-1.75, 360x640 crop with
# cat_max_ratio 0.75, flip 0.5, photometric distortion on RGB; whole-image test at 360x640.
# Test (mmseg's convention): the inputs are resized to 360x640 (`test_resize`), the label stays at the
# stored 720x1280 (`ori_shape`), and the logits are resized back to 720x1280 and scored there.
# `train_pipeline`/`test_pipeline` feed RGB-X models (dict inputs); `student_*` feed stock RGB students.
dataset_type = 'RGBXSegDataset'
data_root = 'data/PST900'
modalities = ('rgb', 'thermal')
crop_size = (360, 640)
num_classes = 5
# Thermal: 1-channel uint8. The released code replicates it to 3 channels normalised with the
# ImageNet statistics; 114.5 / 57.6 are their channel averages (the 1-channel equivalent).
# Replace with the dataset's own thermal mean/std when computed (docs/methods/rtfdnet.md (e).6).
modality_mean = dict(rgb=[123.675, 116.28, 103.53], thermal=[114.495])
modality_std = dict(rgb=[58.395, 57.12, 57.375], thermal=[57.63])
base_resize = dict(type='JointGeometricAug', transforms=[dict(type='Resize', height=360, width=640, p=1.0)])
test_resize = dict(type='MultiModalResize', scale=(360, 640), resize_label=False)
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
    dict(type='LoadMultiModalFromFile'), base_resize, geometric_aug, random_crop, rgb_photometric,
    dict(type='PackMultiModalInputs')
]
test_pipeline = [dict(type='LoadMultiModalFromFile'), test_resize, dict(type='PackMultiModalInputs')]
student_train_pipeline = [
    dict(type='LoadMultiModalFromFile'), base_resize, geometric_aug, random_crop, rgb_photometric,
    dict(type='PackMultiModalInputs', modalities=('rgb', ), stack=True)
]
student_test_pipeline = [
    dict(type='LoadMultiModalFromFile'), test_resize,
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
