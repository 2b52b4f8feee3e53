# RGB-X teacher on the embedded benchmark v3 (rgbt): one tiny MiT per modality, each from the
# synthetic-pretrained MiT (the 1-channel patch embedding adapts the RGB filters), SFF fusion.
_base_ = [
    '../_base_/models/rgbx_segformer_mit-b0.py', '../_base_/datasets/synthetic_v3_rgbt.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_v3.py',
    '../_base_/pretrained/mit_synthetic.py'
]
model = dict(
    modalities={{_base_.modalities}},
    data_preprocessor=dict(
        mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1], init_cfg={{_base_.mit_t_synthetic_init}}),
    decode_head=dict(
        in_channels=[16, 32, 80, 128],
        channels=64,
        num_classes={{_base_.num_classes}},
        loss_decode=dict(type='WeightedCrossEntropyLoss', class_weight={{_base_.class_weight}})))
