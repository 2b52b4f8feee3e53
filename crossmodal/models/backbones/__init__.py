from .mit_sdpa import MixVisionTransformerSDPA, use_sdpa_attention  # noqa: F401
