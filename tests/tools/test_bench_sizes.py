"""`bench --image-size/--channels/--num-classes/--class-capsules`: the model bench
times is built at that size, on random images of it."""

import numpy as np

from capsnet.commands.bench import random_images, training_step
from capsnet.commands.configs import BenchConfig


def test_random_images_have_the_size_and_cover_the_classes():
    data = random_images((20, 24), 3, 7, count=30)
    assert data.x_train.shape == (30, 20, 24, 3) and data.x_train.dtype == np.uint8
    assert set(data.y_train) == set(range(7)) and data.num_classes == 7
    np.testing.assert_array_equal(data.x_train, random_images((20, 24), 3, 7, count=30).x_train)


def test_the_timed_model_is_built_for_the_size_classes_and_class_capsules():
    config = BenchConfig(image_size=(32, 32), channels=3, num_classes=5, class_capsules="shared")
    sample, models, x, step = training_step("capsnet", 2, 1, "auto", None, config)
    assert x.shape == (2, 32, 32, 3) and models.evaluate.outputs[0].shape[-1] == 5
    assert models.train.get_layer("digitcaps").count_params() == 32 * 5 * 16 * 8
    step()  # one training step runs
