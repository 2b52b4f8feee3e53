# The embedded benchmark's "ImageNet": the tiny MiT (embed_dims 16, one block per stage) pretrained
# by tools/pretrain_mit.py on synthetic shapes (data_prep/synthetic_shapes.py), shipped in the
# package. Every v3 backbone (students and each modality of the teachers) starts from it, as real
# RGB-X work starts every backbone from ImageNet; 1-channel inputs adapt the RGB filters.
mit_t_synthetic_init = dict(
    type='PretrainedMiT',
    checkpoint='{{ fileDirname }}/../../../crossmodal/assets/pretrained/mit-t_synthetic-shapes.pth')
