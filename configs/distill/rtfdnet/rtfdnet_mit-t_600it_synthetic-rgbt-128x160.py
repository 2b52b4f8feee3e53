# RTFDNet on the embedded RGB-T dataset: tiny MiT per stream (as the teacher/student configs),
# SFF fusion, three heads scored every validation (mIoU_rgb / mIoU_x / mIoU_fused).
# Same data, schedule and seed handling as configs/students/segformer_mit-t_600it_synthetic-rgbt-128x160.py.
# The heads' CE is class-weighted (background 0.25, `class_weight` of the dataset config); the CMDR
# pseudo-label CE uses the same weights (model.mce_class_weight='supervised', the default; None =
# the paper's unweighted term, which here dominated the RGB head's CE and pulled it to background).
# RDR stays unweighted (model.rdr_class_weight=None; 'supervised' weights it the same way).
_base_ = [
    '../../_base_/models/rtfdnet_segformer_mit-b0.py', '../../_base_/datasets/synthetic_rgbt.py',
    '../../_base_/default_runtime.py', '../../_base_/schedules/schedule_tiny.py'
]
model = dict(
    modalities={{_base_.modalities}},
    data_preprocessor=dict(
        mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=dict(embed_dims=16, num_layers=[1, 1, 1, 1]),
    decode_head=dict(
        in_channels=[16, 32, 80, 128],
        channels=64,
        num_classes={{_base_.num_classes}},
        loss_decode=dict(type='WeightedCrossEntropyLoss', class_weight={{_base_.class_weight}})))
val_evaluator = dict(type='MultiHeadIoUMetric', iou_metrics=['mIoU'], main='fused')
test_evaluator = val_evaluator
