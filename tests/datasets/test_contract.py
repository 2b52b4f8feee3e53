"""The dataset contract is one place: channel table, label rule and meta.json validation shared."""

import os
import sys

import cv2
import numpy as np
import pytest

from crossmodal.datasets.contract import (
    MODALITY_CHANNELS,
    REQUIRED_FIELDS,
    DatasetFiles,
    DatasetMetaError,
    stored_to_train_ids,
)
from crossmodal.datasets.transforms.loading import decode_label

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_channel_table_is_the_models_table():
    from crossmodal.models.segmentors.multimodal_encoder_decoder import DEFAULT_IN_CHANNELS

    assert DEFAULT_IN_CHANNELS is MODALITY_CHANNELS
    assert MODALITY_CHANNELS['rgbi'] == 4 and MODALITY_CHANNELS['depth'] == 1


@pytest.mark.parametrize('offset', [-1, 0, 2])
def test_loader_and_infer_decode_labels_alike(tmp_path, offset):
    sys.path.insert(0, os.path.join(ROOT, 'tools'))
    import infer

    stored = np.array([[0, 1, 2, 3], [250, 252, 255, 5]], np.uint8)
    num_classes = 255
    want = stored_to_train_ids(stored, offset)
    np.testing.assert_array_equal(decode_label(stored, 'x.png', offset, num_classes), want)
    cv2.imwrite(str(tmp_path / 'f.png'), stored)
    np.testing.assert_array_equal(
        infer.read_gt(str(tmp_path), 'f', '.png', offset, stored.shape), want
    )
    if offset == -1:
        assert want[0, 0] == 255 and want[0, 1] == 0 and want[1, 2] == 255


def test_writer_refuses_invalid_meta(tmp_path):
    files = DatasetFiles(str(tmp_path), {'rgb': {'folder': 'RGB', 'ext': '.png'}})
    meta = {k: None for k in REQUIRED_FIELDS if k != 'modalities'}
    with pytest.raises(DatasetMetaError, match='lacks required'):
        files.write_meta(meta)
    assert not (tmp_path / 'meta.json').exists()
