# ImageNet-1k MiT weights for every backbone of the real-dataset configs: mmseg's converted release
# (the files mmseg's own SegFormer configs use). Loaded by crossmodal's `PretrainedMiT` initializer
# (crossmodal/models/backbones/pretrained.py) when the Runner calls model.init_weights():
#   * URLs are downloaded once into torch's hub cache (~/.cache/torch/hub/checkpoints/); offline, put
#     the file there, in ./pretrain/ or in $CROSSMODAL_PRETRAINED_DIR (NVlabs' original mit_b*.pth
#     under its own name is accepted too and converted on load), or point the config at a local file:
#     --cfg-options model.backbone.init_cfg.checkpoint=/path/to/mit_b2.pth
#   * 1-channel (depth, thermal) and 4/5-channel (RGBI, LiDAR) patch embeddings adapt the RGB filters;
#     any other mismatch between checkpoint and backbone is an error.
_mit = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/segformer/'
mit_b0_init = dict(type='PretrainedMiT', checkpoint=_mit + 'mit_b0_20220624-7e0fe6dd.pth')
mit_b1_init = dict(type='PretrainedMiT', checkpoint=_mit + 'mit_b1_20220624-02e5a6a1.pth')
mit_b2_init = dict(type='PretrainedMiT', checkpoint=_mit + 'mit_b2_20220624-66e8bf70.pth')
mit_b3_init = dict(type='PretrainedMiT', checkpoint=_mit + 'mit_b3_20220624-13b1141c.pth')
mit_b4_init = dict(type='PretrainedMiT', checkpoint=_mit + 'mit_b4_20220624-d588d980.pth')
mit_b5_init = dict(type='PretrainedMiT', checkpoint=_mit + 'mit_b5_20220624-658746d9.pth')
