"""Accuracy of capsule lengths when an image holds one digit or several."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="capsnet")
def all_classes_right(y_true, y_pred, digits_per_image=2):
    """1 where the `digits_per_image` longest capsules are exactly the true
    classes, else 0: the authors' MultiMNIST accuracy (tensorflow/models,
    research/capsules, `models/layers.py`), a pair counting only when both
    digits are named.

    Args:
        y_true: `(batch, num_classes)` with `digits_per_image` ones (the sum
            of the digits' one-hot labels).
        y_pred: `(batch, num_classes)` capsule lengths.

    Returns:
        `(batch,)` float32.
    """
    _, top = ops.top_k(ops.cast(y_pred, "float32"), digits_per_image)
    found = ops.sum(ops.take_along_axis(ops.cast(y_true, "float32"), top, axis=-1), axis=-1)
    return ops.cast(found > digits_per_image - 0.5, "float32")


def accuracy_metric(digits_per_image=1):
    """The "accuracy" metric of the lengths: Keras's categorical accuracy for one
    digit per image, `all_classes_right` for several."""
    if digits_per_image == 1:
        return keras.metrics.CategoricalAccuracy(name="accuracy")
    return keras.metrics.MeanMetricWrapper(
        all_classes_right, name="accuracy", digits_per_image=digits_per_image
    )
