# Depth-only SegFormer (tiny MiT, 1 input channel, synthetic-pretrained: the patch embedding adapts
# the RGB filters) on the embedded benchmark v3: CroDiNo-KD's depth model and MST-Distill's
# cross-modal (X-only) teacher. Depth is float32 metres (0 = missing); the pre-processor normalises
# it with the dataset's depth mean/std.
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/synthetic_v3_rgbd.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_v3.py',
    '../_base_/pretrained/mit_synthetic.py'
]
model = dict(
    data_preprocessor=dict(
        mean={{_base_.modality_mean.depth}}, std={{_base_.modality_std.depth}}, bgr_to_rgb=False,
        size={{_base_.crop_size}}),
    backbone=dict(in_channels=1, embed_dims=16, num_layers=[1, 1, 1, 1],
                  init_cfg={{_base_.mit_t_synthetic_init}}),
    decode_head=dict(
        in_channels=[16, 32, 80, 128],
        channels=64,
        num_classes={{_base_.num_classes}},
        loss_decode=dict(type='WeightedCrossEntropyLoss', class_weight={{_base_.class_weight}})))
_depth_train_pipeline = [
    dict(type='LoadMultiModalFromFile'), {{_base_.geometric_aug}}, {{_base_.random_crop}},
    dict(type='PackMultiModalInputs', modalities=('depth', ), stack=True)
]
_depth_test_pipeline = [
    dict(type='LoadMultiModalFromFile'),
    dict(type='PackMultiModalInputs', modalities=('depth', ), stack=True)
]
train_dataloader = dict(dataset=dict(modalities=('depth', ), pipeline=_depth_train_pipeline))
val_dataloader = dict(dataset=dict(modalities=('depth', ), pipeline=_depth_test_pipeline))
test_dataloader = dict(dataset=dict(modalities=('depth', ), pipeline=_depth_test_pipeline))
