# RGB-X teacher (MiT-B2 per modality, SFF fusion, SegFormer head) for sunrgbd-rgbd, 80k iterations.
# Set backbone.pretrained_path to ImageNet MiT-B2 weights (mmseg's mit_b2 converted checkpoint) for
# the published recipe; extra input channels are adapted by crossmodal's MiT.
_base_ = [
    '../_base_/models/rgbx_segformer_mit-b2.py', '../_base_/datasets/sunrgbd_rgbd.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
model = dict(
    modalities={{_base_.modalities}},
    data_preprocessor=dict(
        mean={{_base_.modality_mean}}, std={{_base_.modality_std}}, size={{_base_.crop_size}}),
    backbone=dict(pretrained_path=None),
    decode_head=dict(num_classes={{_base_.num_classes}}))
