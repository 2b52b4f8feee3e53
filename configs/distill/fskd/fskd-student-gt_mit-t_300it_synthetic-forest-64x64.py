# Baseline: RGBI-only SegFormer regression student trained on the LiDAR targets alone (no teacher),
# tiny MiT, 300 iterations — the reference for the distilled student (same seed, iterations, data).
_base_ = [
    '../../_base_/models/fskd_student_segformer_mit-b0.py', '../../_base_/datasets/synthetic_forest.py',
    '../../_base_/default_runtime.py', '../../_base_/schedules/schedule_fskd_tiny.py'
]
model = dict(
    data_preprocessor=dict(mean={{_base_.rgbi_mean}}, std={{_base_.rgbi_std}}, size={{_base_.crop_size}}),
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1], drop_path_rate=0.0),
    decode_head=dict(in_channels=[16, 32, 80, 128], channels=64, target_scales={{_base_.target_scales}}))
train_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_pipeline}}))
val_dataloader = dict(dataset=dict(modalities=('rgb', ), pipeline={{_base_.student_pipeline}}))
test_dataloader = val_dataloader
