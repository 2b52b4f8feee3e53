# The RGB-only tiny SegFormer student with a DHO dual head (DualHeadSegformerHead: label head
# conv_seg trained by the class-weighted CE, KD head conv_seg_kd trained by a distillation loss;
# eval-mode logits alpha * label + (1 - alpha) * kd). Same model as the no-distillation twin
# (segformer_mit-t_600it_synthetic-rgbt-128x160.py) otherwise; used by configs/distill/dho/.
_base_ = ['./segformer_mit-t_600it_synthetic-rgbt-128x160.py']
model = dict(decode_head=dict(type='DualHeadSegformerHead', alpha=0.5, kd_init='copy'))
