from .depth_aug import DepthPhotometricAug
from .dropout import ModalityDropout
from .formatting import PackMultiModalInputs
from .geometric import JointGeometricAug, MultiModalRandomCrop
from .loading import LoadMultiModalFromFile, SampleLoadError
from .photometric import ModalityPhotometricAug

__all__ = ['LoadMultiModalFromFile', 'SampleLoadError', 'JointGeometricAug', 'MultiModalRandomCrop',
           'ModalityPhotometricAug', 'ModalityDropout', 'PackMultiModalInputs',
           'DepthPhotometricAug']
