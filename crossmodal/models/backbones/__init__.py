from .adapt import adapt_input_conv
from .mit import MiT
from .mit_sdpa import MixVisionTransformerSDPA, project_qkv, use_sdpa_attention

__all__ = ['MiT', 'adapt_input_conv', 'MixVisionTransformerSDPA', 'project_qkv', 'use_sdpa_attention']
