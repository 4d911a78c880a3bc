"""build_capsnet(class_capsules="shared"): class capsules whose weights do not
grow with the image, in a CapsNet that is otherwise the paper's."""

import numpy as np
import pytest

import capsnet
from capsnet import models as families
from capsnet.layers import CapsuleLayer, SharedCapsuleLayer


def test_the_class_capsules_weights_are_the_same_at_every_image_size():
    counts = {}
    for side in (28, 64, 96):
        shape = (side, side, 3)
        models = capsnet.build_capsnet(shape, num_classes=100, class_capsules="shared", decoder=False)
        counts[side] = models.train.get_layer("digitcaps").count_params()
    assert set(counts.values()) == {32 * 100 * 16 * 8}


def test_the_default_is_the_papers_digitcaps():
    models = capsnet.build_capsnet()
    assert type(models.train.get_layer("digitcaps")) is CapsuleLayer
    architecture = families.family_of_model(models.train).architecture(models.train)
    assert architecture["class_capsules"] == "per-capsule"


def test_the_shared_layer_reads_primarycaps_grid_and_types():
    models = capsnet.build_capsnet((40, 36, 1), class_capsules="shared", num_primary_channels=16)
    digitcaps = models.train.get_layer("digitcaps")
    assert isinstance(digitcaps, SharedCapsuleLayer)
    # conv1 9x9: 32x28; PrimaryCaps 9x9 stride 2: 12x10
    assert digitcaps.grid == (12, 10) and digitcaps.capsule_types == 16
    assert families.family_of_model(models.train).architecture(models.train)["class_capsules"] == "shared"
    lengths = models.evaluate.predict(np.zeros((2, 40, 36, 1), "float32"), verbose=0)[0]
    assert lengths.shape == (2, 10)


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="per-capsule, shared"):
        capsnet.build_capsnet(class_capsules="pooled")
