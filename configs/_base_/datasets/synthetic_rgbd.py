# The embedded RGB-D dataset (data_prep/synthetic.py --variant rgbd): 4 classes, 128x160 frames,
# most objects camouflaged (same colour and texture as the background), visible only in depth.
# Same pipelines as the RGB-T variant; depth is float32 metres after loading.
_base_ = ['./synthetic_rgbt.py']
data_root = 'data/synthetic_rgbd'
modalities = ('rgb', 'depth')
modality_mean = dict(_delete_=True, rgb=[123.675, 116.28, 103.53], depth=[6.0])
modality_std = dict(_delete_=True, rgb=[58.395, 57.12, 57.375], depth=[3.0])
train_dataloader = dict(dataset=dict(data_root=data_root, modalities=modalities))
val_dataloader = dict(dataset=dict(data_root=data_root, modalities=modalities))
test_dataloader = val_dataloader
