"""Assemble the CapsNet of Sabour et al. (2017) from the capsnet layers."""

import warnings

import keras

from capsnet import losses
from capsnet.layers import (
    CapsuleLayer,
    PrimaryCapsule,
    RandomShift,
    ReLUConv2D,
    SharedCapsuleLayer,
    validation,
)
from capsnet.models import capsule_views, image_sizes, large_images
from capsnet.models.capsnet import CLASS_CAPSULES

NAME = "capsnet"
# The layers from image to class capsules, in order (the stem only for large images).
CAPSULE_PATH = ("stem", "conv1", "primarycaps", "digitcaps")

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
    digits_per_image=1,
    digit_initializer=None,
    class_capsules="per-capsule",
    stem_blocks=None,
    decoder_type=None,
    **deprecated,
):
    """Build the training, evaluation and manipulation models.

    The defaults are the paper's MNIST network (8,215,568 parameters with the
    decoder, 6,804,224 without), and for images above 40x40 pixels a strided
    stem and a convolutional decoder (`capsnet.models.large_images`). Any batch
    size works.

    Args:
        input_shape: `(height, width, channels)` of the images; at least
            `smallest_image_side(kernel_size)` (17) on each side.
        num_classes: number of classes (output capsules).
        routings: routing iterations (>= 1).
        shift_pixels: random shift of up to this many pixels in training.
        lam_recon: weight of the reconstruction loss (0 to switch it off).
        conv_filters, kernel_size: the first convolution (256 filters 9x9).
        num_primary_channels, dim_primary_capsule: PrimaryCaps (32 types of 8D).
        dim_class_capsule: dimensions of the class capsules (16).
        decoder: build the reconstruction decoder.
        seed: seed for the random shifts.
        digits_per_image: 2 for MultiMNIST pairs: two positives in the margin
            loss and one reconstruction per digit (needs shift_pixels=0).
        digit_initializer: initializer of DigitCaps' W (default: CapsuleLayer's).
        class_capsules: "per-capsule" (the paper's DigitCaps: one W per primary
            capsule and class, growing with the image) or "shared" (one W per
            primary capsule type and class, with coordinate addition:
            `SharedCapsuleLayer`, whose weights do not depend on the image size).
        stem_blocks: stride-2 3x3 ReLU convolutions (64 filters) before conv1;
            None: as many as bring the shorter side to 40 pixels or less (0 up
            to 40x40, 3 at 224x224).
        decoder_type: "dense" (the paper's) or "deconv" (transposed
            convolutions); None: dense up to 40x40 pixels, else deconv.
        **deprecated: the 0.1.0 names `n_class`, `primary_channels`,
            `primary_dim` and `digit_dim` (with a DeprecationWarning).

    Returns:
        `CapsNetModels(train, evaluate, manipulate)`.

    Raises:
        CapsNetInputError: images smaller than the stem and the two
            convolutions need.
    """
    renamed = _renamed_arguments(deprecated)
    num_classes = renamed.get("num_classes", num_classes)
    num_primary_channels = renamed.get("num_primary_channels", num_primary_channels)
    dim_primary_capsule = renamed.get("dim_primary_capsule", dim_primary_capsule)
    dim_class_capsule = renamed.get("dim_class_capsule", dim_class_capsule)
    input_shape = capsule_views.check_input_shape(input_shape)
    capsule_views.check_digits_per_image(digits_per_image, shift_pixels)
    validation.positive_int("num_classes", num_classes)
    validation.positive_int("routings", routings)
    validation.positive_int("conv_filters", conv_filters)
    validation.positive_int("kernel_size", kernel_size)
    if class_capsules not in CLASS_CAPSULES:
        choices = ", ".join(CLASS_CAPSULES)
        raise ValueError(f"`class_capsules` must be one of {choices}, got {class_capsules!r}")
    if decoder_type is not None:
        image_sizes.check_decoder_type(decoder_type)
    if stem_blocks is None:
        stem_blocks = image_sizes.default_stem_blocks(input_shape)
    validation.non_negative_int("stem_blocks", stem_blocks)
    capsule_views.check_image_side(
        "CapsNet",
        input_shape,
        smallest_image_side(kernel_size, stem_blocks),
        f"two {kernel_size}x{kernel_size} convolutions"
        + (f" after {stem_blocks} stride-2 stem blocks" if stem_blocks else ""),
    )

    images = keras.Input(input_shape, name="image")
    shifted = RandomShift(shift_pixels, seed=seed, name="random_shift")(images)
    stemmed = large_images.conv_stem(stem_blocks, input_shape)(shifted) if stem_blocks else shifted
    conv1 = ReLUConv2D(conv_filters, kernel_size, padding="valid", name="conv1")
    primary = PrimaryCapsule(
        num_primary_channels, dim_primary_capsule, kernel_size=kernel_size, strides=2, name="primarycaps"
    )
    features = conv1(stemmed)
    layer, shared = CapsuleLayer, {}
    if class_capsules == "shared":  # SharedCapsuleLayer also needs PrimaryCaps' grid and types
        grid = validation.conv_grid("PrimaryCapsule", features.shape, kernel_size, 2)
        layer, shared = SharedCapsuleLayer, {"grid": grid, "capsule_types": num_primary_channels}
    digits = layer(
        num_classes,
        dim_class_capsule,
        routings=routings,
        kernel_initializer=digit_initializer,
        name="digitcaps",
        **shared,
    )
    capsules = digits(primary(features))
    if not decoder:
        return capsule_views.without_decoder(NAME, images, capsules, CAPSULE_PATH, digits_per_image)
    reconstruct = large_images.decoder_of_type(decoder_type, num_classes, dim_class_capsule, input_shape)
    return capsule_views.with_decoder(
        NAME, images, shifted, capsules, reconstruct, lam_recon, CAPSULE_PATH, digits_per_image
    )


def smallest_image_side(kernel_size=9, stem_blocks=0):
    """The smallest height and width CapsNet takes: conv1 and PrimaryCaps each
    need `kernel_size` pixels (17 for the paper's 9x9 kernels), after the stem
    has halved the image `stem_blocks` times."""
    side = 2 * kernel_size - 1
    return (side - 1) * 2**stem_blocks + 1


# The family's protocol (`capsnet.models.registry.ModelFamily`).
build = build_capsnet

views_of, classifier_only, _layer_options = capsule_views.family_functions(CAPSULE_PATH)


def architecture(train):
    """The options a built CapsNet fixes: `capsule_views.architecture`'s, its
    `class_capsules`, `stem_blocks` and `decoder_type` (None without a decoder)."""
    shared = isinstance(train.get_layer("digitcaps"), SharedCapsuleLayer)
    return {
        **_layer_options(train),
        "class_capsules": "shared" if shared else "per-capsule",
        "stem_blocks": large_images.stem_blocks_of(train),
        "decoder_type": large_images.decoder_type_of(train),
    }


loss = losses.margin_loss
