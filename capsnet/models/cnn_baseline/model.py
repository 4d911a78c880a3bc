"""The baseline CNN of Sabour, Frosst & Hinton (2017), Section 5, from Keras layers.

The paper: "three convolutional layers of 256, 256, 128 channels. Each has
5x5 kernels and stride of 1", then "two fully connected layers of size 328,
192", the last one "connected with dropout to a 10 class softmax layer with
cross entropy loss", "trained on 2-pixel shifted MNIST with Adam", 35.4M
parameters. The count fixes what the text leaves out: 'same' padding and no
pooling give 35,445,522 parameters at 28x28 (pooling, or 'valid' padding, would
leave a fraction of that). The dropout rate is not given; 0.5 is ours.

The authors' released code has a smaller baseline (tensorflow/models,
research/capsules, `models/conv_model.py`: two pooled convolutions of 512 and
256 channels and one layer of 1,024 units); this module follows the paper.
"""

import keras

from capsnet.errors import CapsNetInputError
from capsnet.layers import ClassProbabilities, RandomShift, validation
from capsnet.models import capsule_views

NAME = "cnn-baseline"
CONV_CHANNELS = (256, 256, 128)
KERNEL_SIZE = 5
DENSE_UNITS = (328, 192)
DROPOUT = 0.5
# What `capsnet.model_files.load_capsnet` expects a saved training model to be called.
TRAIN_MODEL_NAME = "capsnet_train"


def body(input_shape, num_classes, dropout=DROPOUT):
    """Convolutions, fully connected layers and dropout, image to class logits.

    Input shape: `(batch, *input_shape)`. Output shape: `(batch, num_classes)`
    logits (float32 under mixed precision: the softmax and its loss need it).
    """
    layers = [keras.Input(input_shape)]
    for index, channels in enumerate(CONV_CHANNELS, start=1):
        layers.append(
            keras.layers.Conv2D(channels, KERNEL_SIZE, padding="same", activation="relu", name=f"conv{index}")
        )
    layers.append(keras.layers.Flatten(name="flatten"))
    for index, units in enumerate(DENSE_UNITS, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"fc{index}"))
    layers += [
        keras.layers.Dropout(dropout, name="dropout"),
        keras.layers.Dense(num_classes, dtype="float32", name="logits"),
    ]
    return keras.Sequential(layers, name="body")


def build_cnn_baseline(input_shape=(28, 28, 1), num_classes=10, shift_pixels=2, dropout=DROPOUT, seed=None):
    """Build the baseline CNN's training and evaluation models.

    Args:
        input_shape: `(height, width, channels)` of the images (any size: the
            convolutions pad, so the first fully connected layer grows with
            the pixels: 32.9M weights at 28x28, 67.2M at 40x40).
        num_classes: number of classes.
        shift_pixels: random shift of up to this many pixels in training
            (the paper's 2), as for CapsNet.
        dropout: the rate of the dropout before the class layer.
        seed: seed for the random shifts (and the dropout).

    Returns:
        `CapsNetModels(train, evaluate, None)`: `train` is `image ->
        probabilities` with the shifts and dropout of training, `evaluate` the
        same layers without the shifts. The CNN has no decoder and no capsules
        to manipulate.
    """
    input_shape = capsule_views.check_input_shape(input_shape)
    validation.positive_int("num_classes", num_classes)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a rate in [0, 1), got {dropout!r}")
    images = keras.Input(input_shape, name="image")
    shifted = RandomShift(shift_pixels, seed=seed, name="random_shift")(images)
    logits = body(input_shape, num_classes, dropout)(shifted)
    probabilities = ClassProbabilities(model_family=NAME, name="probabilities")(logits)
    return views_of(keras.Model(images, probabilities, name=TRAIN_MODEL_NAME))


def views_of(train):
    """`CapsNetModels(train, evaluate, None)` of a (possibly reloaded) training model."""
    layers = {layer.name: layer for layer in train.layers}
    if "body" not in layers or "probabilities" not in layers:
        raise CapsNetInputError(
            f"the model {train.name!r} is not laid out as a {NAME} (it needs the layers 'body' and "
            f"'probabilities'); load a model written by `capsnet train`"
        )
    images = keras.Input(train.inputs[0].shape[1:], name="image")
    probabilities = layers["probabilities"](layers["body"](images))
    return capsule_views.CapsNetModels(train, keras.Model(images, probabilities, name="cnn_eval"), None)


def classifier_only(models):
    """The trained CNN without the shifts of training, sharing the weights of `models`."""
    images = keras.Input(models.train.inputs[0].shape[1:], name="image")
    layers = {layer.name: layer for layer in models.train.layers}
    classifier = keras.Model(images, layers["probabilities"](layers["body"](images)), name=TRAIN_MODEL_NAME)
    return views_of(classifier)


def architecture(train):
    """`{"routings", "shift_pixels", "lam_recon"}`: the CNN fixes only the shift."""
    return capsule_views.architecture(train)


# The family's protocol (`capsnet.models.registry.ModelFamily`).
build = build_cnn_baseline
loss = keras.losses.categorical_crossentropy
