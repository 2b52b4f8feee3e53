from .mit_sdpa import MixVisionTransformerSDPA, project_qkv, use_sdpa_attention  # noqa: F401
