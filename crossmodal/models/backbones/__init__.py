from .adapt import adapt_input_conv
from .mit import MiT
from .mit_sdpa import MixVisionTransformerSDPA, project_qkv, use_sdpa_attention
from .pretrained import (
    MIT_CHECKPOINTS,
    PretrainedMismatchError,
    PretrainedMiTInit,
    PretrainedWeightsUnavailable,
    load_pretrained_mit,
    nvlabs_to_mmseg,
    pretrained_reports,
    resolve_checkpoint,
)

__all__ = [
    'MiT',
    'adapt_input_conv',
    'MixVisionTransformerSDPA',
    'project_qkv',
    'use_sdpa_attention',
    'MIT_CHECKPOINTS',
    'PretrainedMiTInit',
    'PretrainedMismatchError',
    'PretrainedWeightsUnavailable',
    'load_pretrained_mit',
    'nvlabs_to_mmseg',
    'pretrained_reports',
    'resolve_checkpoint',
]
