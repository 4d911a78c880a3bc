"""The `Dataset` every loader returns, and one-hot labels."""

from typing import NamedTuple

import numpy as np

# The four arrays of every dataset, in the order of keras.datasets' (x_train, y_train), (x_test, y_test).
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")


class Dataset(NamedTuple):
    """Images `(n, height, width, channels)` and int64 labels `(n,)` of each split.

    8-bit images are uint8 (0..255), every other pixel type float32 in [0, 1]
    (`capsnet.data.validation.stored_pixels`); `capsnet.data.batches` scales a
    batch at a time for the model.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple | None = None  # label order; from class folders, else None

    @property
    def num_classes(self):
        if self.class_names:
            return len(self.class_names)
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])

    # What training and testing ask of every dataset, generated ones too
    # (`capsnet.data.multimnist.PairedDataset`).
    digits_per_image = 1

    @property
    def num_train(self):
        return len(self.x_train)

    @property
    def num_test(self):
        return len(self.x_test)

    def train_examples(self, num_classes):
        """The training split as `capsnet.data.examples.Examples`."""
        from capsnet.data.examples import Examples

        return Examples(self.x_train, self.y_train, num_classes)

    def test_examples(self, num_classes):
        """The test split as `capsnet.data.examples.Examples`."""
        from capsnet.data.examples import Examples

        return Examples(self.x_test, self.y_test, num_classes)


def one_hot(labels, num_classes):
    """`(n,)` integer labels -> `(n, num_classes)` float32."""
    return np.eye(num_classes, dtype="float32")[labels]
