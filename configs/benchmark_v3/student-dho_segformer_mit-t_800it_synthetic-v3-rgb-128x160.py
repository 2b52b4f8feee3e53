# The v3 RGB student with a DHO dual head (DualHeadSegformerHead: label head conv_seg trained by the
# class-weighted CE, KD head conv_seg_kd by a distillation loss; eval-mode logits
# alpha * label + (1 - alpha) * kd). Otherwise the v3 twin, with the same initial weights per seed.
_base_ = ['../students/segformer_mit-t_800it_synthetic-v3-rgb-128x160.py']
model = dict(decode_head=dict(type='DualHeadSegformerHead', alpha=0.5, kd_init='copy'))
