# RGB-X teacher, MiT-B2 per modality (embed 64, depths 3-4-6-3) + SFF fusion + SegFormer head (768).
_base_ = ['./rgbx_segformer_mit-b0.py']
model = dict(
    backbone=dict(embed_dims=64, num_layers=[3, 4, 6, 3]),
    decode_head=dict(in_channels=[64, 128, 320, 512], channels=768))
