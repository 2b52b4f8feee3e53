# RGB-only SegFormer (tiny MiT, synthetic-pretrained) on the embedded benchmark v3: the twin every
# v3 distillation row is compared with (same init, same data order, same schedule).
_base_ = [
    '../_base_/models/segformer_mit-b0.py', '../_base_/datasets/synthetic_v3_rgbt.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_v3.py',
    '../_base_/pretrained/mit_synthetic.py'
]
model = dict(
    data_preprocessor=dict(size={{_base_.crop_size}}),
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1], init_cfg={{_base_.mit_t_synthetic_init}}),
    decode_head=dict(
        in_channels=[16, 32, 80, 128],
        channels=64,
        num_classes={{_base_.num_classes}},
        loss_decode=dict(type='WeightedCrossEntropyLoss', class_weight={{_base_.class_weight}})))
train_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_train_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_test_pipeline}}))
test_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_test_pipeline}}))
