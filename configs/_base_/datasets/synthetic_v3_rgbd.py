# Embedded benchmark v3, RGB-D: the same frames as synthetic_v3_rgbt.py (one dataset holds RGB,
# thermal and depth rendered from one geometry), depth in metres (0 = missing, 2 % of the pixels).
_base_ = ['./synthetic_v3_rgbt.py']
modalities = ('rgb', 'depth')
modality_mean = dict(_delete_=True, rgb=[123.675, 116.28, 103.53], depth=[10.0])
modality_std = dict(_delete_=True, rgb=[58.395, 57.12, 57.375], depth=[8.0])
train_dataloader = dict(dataset=dict(modalities=modalities))
val_dataloader = dict(dataset=dict(modalities=modalities))
test_dataloader = dict(dataset=dict(modalities=modalities))
