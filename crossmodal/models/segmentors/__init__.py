from .multimodal_encoder_decoder import MultiModalEncoderDecoder
from .regression_encoder_decoder import RegressionEncoderDecoder

__all__ = ['MultiModalEncoderDecoder', 'RegressionEncoderDecoder']
