"""Examples held on the accelerator: the stored pixels and labels copied there
once, each batch gathered and scaled there.

From host arrays, every training step gathers its images with NumPy, scales
them to float32 and copies them to the device; on a GPU that host work is part
of what keeps a small model's step waiting. `DeviceExamples` moves the uint8
images (47 MB for MNIST) and the labels to the backend's default device once,
and a batch is then a few gathers and a one-hot there, from indices alone.
The batches hold the same numbers as `capsnet.data.examples.Examples` gives
(tested on every backend).
"""

import keras
import numpy as np

from capsnet.data.examples import ClassExamples, Examples, as_float

# `capsnet train` holds larger datasets on the host unless asked: a folder of
# photos can outgrow the device's memory, MNIST-sized data cannot.
AUTO_LIMIT_BYTES = 2 * 2**30


class DeviceExamples:
    """`Examples` whose images and labels live on the backend's default device.

    `examples[indices]` is `((x, y), (y, x))` as for `Examples` (`(x,)` without
    labels), as backend tensors: float32 images `x` `(batch, height, width,
    channels)` in [0, 1] and one-hot labels `y` `(batch, num_classes)`.
    """

    def __init__(self, images, labels=None, num_classes=None):
        images = np.asarray(images)
        # uint8 is scaled per batch, on the device; float images are stored as float32.
        self.scaled = images.dtype == np.uint8
        self.images = keras.ops.convert_to_tensor(images if self.scaled else images.astype("float32"))
        self.pixel_values = keras.ops.convert_to_tensor(as_float(np.arange(256, dtype=np.uint8)))
        self.labels = None if labels is None else keras.ops.convert_to_tensor(np.asarray(labels, "int32"))
        self.num_classes = num_classes
        self.count = len(images)

    def __len__(self):
        return self.count

    def __getitem__(self, indices):
        if isinstance(indices, slice):
            indices = np.arange(self.count)[indices]
        chosen = keras.ops.convert_to_tensor(np.asarray(indices, "int32"))
        x = keras.ops.take(self.images, chosen, axis=0)
        if self.scaled:
            # Each pixel value looked up in `as_float`'s own 256 results: a division
            # by 255 there may be compiled as a product by 1/255 (XLA), which can
            # round differently in the last bit.
            x = keras.ops.take(self.pixel_values, keras.ops.cast(x, "int32"), axis=0)
        if self.labels is None:
            return (x,)
        y = keras.ops.one_hot(keras.ops.take(self.labels, chosen, axis=0), self.num_classes, dtype="float32")
        return (x, y), (y, x)


def stored_bytes(examples):
    """The bytes of the arrays `on_device` would copy, or None where `examples`
    are drawn afresh each epoch (MultiMNIST pairs, placed digits): those stay on
    the host."""
    if isinstance(examples, ClassExamples):
        return stored_bytes(examples.examples)
    if type(examples) is not Examples:
        return None
    labels = 0 if examples.labels is None else len(examples.labels) * 4
    return np.asarray(examples.images).nbytes + labels


def held_on_device(asked, on_gpu, *examples):
    """Whether to hold `examples` on the device: never where they are drawn
    afresh each epoch (`stored_bytes` None); else as `asked` (True or False),
    or, with `asked` None, on a GPU when their arrays take at most
    `AUTO_LIMIT_BYTES` together (the rule of `capsnet train` and `bench`)."""
    sizes = [stored_bytes(part) for part in examples]
    if None in sizes:
        return False
    if asked is not None:
        return asked
    return on_gpu and sum(sizes) <= AUTO_LIMIT_BYTES


def on_device(examples):
    """`examples` (an `Examples`, or a `ClassExamples` around one) held on the
    device; examples drawn afresh each epoch as they were (`stored_bytes`)."""
    if isinstance(examples, ClassExamples):
        return ClassExamples(on_device(examples.examples))
    if stored_bytes(examples) is None:
        return examples
    return DeviceExamples(examples.images, examples.labels, examples.num_classes)
