"""Assemble the CapsNet of Sabour et al. (2017) from the capsnet layers."""

import math
import warnings
from typing import NamedTuple, Optional

import keras

from capsnet import losses
from capsnet.layers import (
    CapsuleLayer,
    Length,
    Mask,
    PrimaryCapsule,
    RandomShift,
    ReconstructionLoss,
    ReLUConv2D,
    validation,
)


class CapsNetModels(NamedTuple):
    """The three views of one CapsNet; they share every weight.

    train: `[image, one_hot_label] -> [lengths, reconstruction]`; shifts the
        image (training only), masks with the true label and adds the
        reconstruction loss.
    evaluate: `image -> [lengths, reconstruction]`, masked by the longest capsule.
    manipulate: `[image, one_hot_label, noise] -> reconstruction`, where
        `noise` `(batch, num_classes, dim)` is added to the class capsules first.
        None without a decoder.
    """

    train: keras.Model
    evaluate: keras.Model
    manipulate: Optional[keras.Model]


# 0.1.0 argument names of build_capsnet -> today's (one scheme: num_* counts, dim_* sizes).
_OLD_NAMES = {
    "n_class": "num_classes",
    "primary_channels": "num_primary_channels",
    "primary_dim": "dim_primary_capsule",
    "digit_dim": "dim_class_capsule",
}


def _renamed_arguments(deprecated):
    unknown = sorted(set(deprecated) - set(_OLD_NAMES))
    if unknown:
        raise TypeError(f"build_capsnet() got unexpected keyword arguments: {', '.join(unknown)}")
    for old in deprecated:
        warnings.warn(
            f"build_capsnet({old}=...) is deprecated; use {_OLD_NAMES[old]}=...",
            DeprecationWarning,
            stacklevel=3,
        )
    return {_OLD_NAMES[old]: value for old, value in deprecated.items()}


def build_capsnet(
    input_shape=(28, 28, 1),
    num_classes=10,
    routings=3,
    shift_pixels=2,
    lam_recon=losses.LAM_RECON,
    conv_filters=256,
    kernel_size=9,
    num_primary_channels=32,
    dim_primary_capsule=8,
    dim_class_capsule=16,
    decoder=True,
    seed=None,
    digit_initializer=None,
    **deprecated,
):
    """Build the training, evaluation and manipulation models.

    The defaults are the paper's MNIST network (8,215,568 parameters with the
    decoder, 6,804,224 without). Any batch size works.

    Args:
        input_shape: `(height, width, channels)` of the images.
        num_classes: number of classes (output capsules).
        routings: routing iterations (>= 1).
        shift_pixels: random shift of up to this many pixels in training.
        lam_recon: weight of the reconstruction loss (0 to switch it off).
        conv_filters, kernel_size: the first convolution (256 filters 9x9).
        num_primary_channels, dim_primary_capsule: PrimaryCaps (32 types of 8D).
        dim_class_capsule: dimensions of the class capsules (16).
        decoder: build the reconstruction decoder.
        seed: seed for the random shifts.
        digit_initializer: initializer of DigitCaps' W (default: CapsuleLayer's).
        **deprecated: the 0.1.0 names `n_class`, `primary_channels`,
            `primary_dim` and `digit_dim` (with a DeprecationWarning).

    Returns:
        `CapsNetModels(train, evaluate, manipulate)`.
    """
    renamed = _renamed_arguments(deprecated)
    num_classes = renamed.get("num_classes", num_classes)
    num_primary_channels = renamed.get("num_primary_channels", num_primary_channels)
    dim_primary_capsule = renamed.get("dim_primary_capsule", dim_primary_capsule)
    dim_class_capsule = renamed.get("dim_class_capsule", dim_class_capsule)
    input_shape = _check_input_shape(input_shape)
    validation.positive_int("num_classes", num_classes)
    validation.positive_int("routings", routings)
    validation.positive_int("conv_filters", conv_filters)
    validation.positive_int("kernel_size", kernel_size)
    side = smallest_image_side(kernel_size)
    if min(input_shape[:2]) < side:
        raise ValueError(
            f"CapsNet needs images of at least {side}x{side} pixels (two {kernel_size}x{kernel_size} "
            f"convolutions), got {input_shape[0]}x{input_shape[1]}"
        )

    images = keras.Input(input_shape, name="image")
    shifted = RandomShift(shift_pixels, seed=seed, name="random_shift")(images)
    conv1 = ReLUConv2D(conv_filters, kernel_size, padding="valid", name="conv1")
    primary = PrimaryCapsule(
        num_primary_channels, dim_primary_capsule, kernel_size=kernel_size, strides=2, name="primarycaps"
    )
    digits = CapsuleLayer(
        num_classes,
        dim_class_capsule,
        routings=routings,
        kernel_initializer=digit_initializer,
        name="digitcaps",
    )
    capsules = digits(primary(conv1(shifted)))
    if not decoder:
        return without_decoder(images, capsules)

    return with_decoder(
        images, shifted, capsules, decoder_net(num_classes, dim_class_capsule, input_shape), lam_recon
    )


def decoder_net(
    num_classes,
    dim_class_capsule,
    output_shape,
    hidden_initializer="glorot_uniform",
    output_initializer="glorot_uniform",
):
    """The paper's reconstruction network: 512 and 1024 ReLU units, then one
    sigmoid per pixel (Figure 2).

    Input shape: `(batch, num_classes * dim_class_capsule)`, the masked capsules.
    Output shape: `(batch, *output_shape)`, in float32 under mixed precision.
    """
    return keras.Sequential(
        [
            keras.Input((num_classes * dim_class_capsule,)),
            keras.layers.Dense(512, activation="relu", kernel_initializer=hidden_initializer),
            keras.layers.Dense(1024, activation="relu", kernel_initializer=hidden_initializer),
            keras.layers.Dense(
                math.prod(output_shape),
                activation="sigmoid",
                kernel_initializer=output_initializer,
                dtype="float32",
            ),
            keras.layers.Reshape(output_shape, dtype="float32"),
        ],
        name="decoder",
    )


def with_decoder(images, shifted, capsules, decoder, lam_recon):
    """The training model `[image, label] -> [lengths, reconstruction]` with its
    reconstruction loss (of the shifted image), and its views.

    Args:
        images: the model's image input.
        shifted: the augmented images the capsules were computed from.
        capsules: `(batch, num_classes, dim)` class capsules.
        decoder: `decoder_net(...)`.
        lam_recon: weight of the reconstruction loss.
    """
    labels = keras.Input((capsules.shape[1],), name="label")
    reconstruction = decoder(Mask(name="mask_by_label")([capsules, labels]))
    reconstruction = ReconstructionLoss(lam_recon, name="reconstruction")([shifted, reconstruction])
    lengths = Length(name="length")(capsules)
    train = keras.Model([images, labels], [lengths, reconstruction], name="capsnet_train")
    return views_of(train)


def without_decoder(images, capsules):
    """The training model `image -> lengths` and its evaluation view (no manipulation)."""
    train = keras.Model(images, Length(name="length")(capsules), name="capsnet_train")
    return CapsNetModels(train, _evaluation_model(train), None)


def classifier_only(models):
    """The same trained capsules without the decoder (and without the random
    shifts): `image -> lengths`, sharing the weights of `models`."""
    images = keras.Input(models.train.inputs[0].shape[1:], name="image")
    classifier = without_decoder(images, _capsules(models.train, images))
    classifier.train.get_layer("length").class_names = class_names(models)
    return classifier


def class_names(models):
    """The class names saved with a model (a list, in capsule order), or None."""
    return models.train.get_layer("length").class_names


def smallest_image_side(kernel_size=9):
    """The smallest height and width CapsNet takes: conv1 and PrimaryCaps each
    need `kernel_size` pixels (17 for the paper's 9x9 kernels)."""
    return 2 * kernel_size - 1


def views_of(train):
    """The three views of a (possibly reloaded) training model, sharing weights."""
    evaluate = _evaluation_model(train)
    if "decoder" not in [layer.name for layer in train.layers]:
        return CapsNetModels(train, evaluate, None)
    return CapsNetModels(train, evaluate, _manipulation_model(train))


# The layers from image to class capsules, in order; each model has some of them.
_CAPSULE_PATH = ("conv1", "backbone", "primarycaps", "digitcaps")


def _capsules(train, images):
    present = {layer.name for layer in train.layers}
    for name in _CAPSULE_PATH:
        if name in present:
            images = train.get_layer(name)(images)
    return images


def _evaluation_model(train):
    images = keras.Input(train.inputs[0].shape[1:], name="image")
    capsules = _capsules(train, images)
    lengths = train.get_layer("length")(capsules)
    if "decoder" not in [layer.name for layer in train.layers]:
        return keras.Model(images, lengths, name="capsnet_eval")
    reconstruction = train.get_layer("decoder")(Mask(name="mask_by_length")(capsules))
    return keras.Model(images, [lengths, reconstruction], name="capsnet_eval")


def _manipulation_model(train):
    images = keras.Input(train.inputs[0].shape[1:], name="image")
    labels = keras.Input(train.inputs[1].shape[1:], name="label")
    capsules = _capsules(train, images)
    noise = keras.Input(capsules.shape[1:], name="noise")
    noisy = keras.layers.Add(name="add_noise")([capsules, noise])
    reconstruction = train.get_layer("decoder")(Mask(name="mask_by_label")([noisy, labels]))
    return keras.Model([images, labels, noise], reconstruction, name="capsnet_manipulate")


def _check_input_shape(input_shape):
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(
            f"`input_shape` must be (height, width, channels) of positive ints, got {input_shape!r}"
        )
    return shape


def architecture(train):
    """The options a built model fixes, read from its layers.

    Returns:
        {"routings", "shift_pixels", "lam_recon"}: each None where the model has
        no such layer (Efficient-CapsNet routes without iterations; a preset has
        no shifts and no decoder).
    """
    layers = {layer.name: layer for layer in train.layers}

    def read(layer_name, attribute):
        return getattr(layers.get(layer_name), attribute, None)

    return {
        "routings": read("digitcaps", "routings"),
        "shift_pixels": read("random_shift", "max_shift"),
        "lam_recon": read("reconstruction", "lam_recon"),
    }
