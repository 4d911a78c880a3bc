"""Assemble Efficient-CapsNet (Mazzia, Salvetti & Chiaberge, 2021) from the capsnet layers."""

import keras

from capsnet import losses
from capsnet.errors import CapsNetInputError
from capsnet.layers import (
    DepthwisePrimaryCapsule,
    RandomShift,
    ReLUConv2D,
    SelfAttentionCapsuleLayer,
    validation,
)
from capsnet.models import capsule_views, image_sizes, large_images

NAME = "efficient-capsnet"
# The layers from image to class capsules, in order.
CAPSULE_PATH = ("backbone", "primarycaps", "digitcaps")

# (filters, kernel, stride) of the four convolutions before the primary capsules.
BACKBONE = ((32, 5, 1), (64, 3, 1), (64, 3, 1), (128, 3, 2))


def smallest_image_side():
    """The smallest height and width for which the backbone leaves a 1x1 grid (11)."""
    side = 1
    for _, kernel, stride in reversed(BACKBONE):
        side = (side - 1) * stride + kernel
    return side


def backbone(input_shape):
    """Four ReLU convolutions, each followed by batch normalisation ('valid'
    padding, He-normal initialisation): 28x28x1 -> 9x9x128.

    Input shape: `(batch, *input_shape)`. Output shape: `(batch, h, w, 128)`.
    """
    layers = [keras.Input(input_shape)]
    for index, (filters, kernel, stride) in enumerate(BACKBONE, start=1):
        layers += [
            ReLUConv2D(filters, kernel, strides=stride, kernel_initializer="he_normal", name=f"conv{index}"),
            keras.layers.BatchNormalization(name=f"batch_norm{index}"),
        ]
    return keras.Sequential(layers, name="backbone")


def build_efficient_capsnet(
    input_shape=(28, 28, 1),
    num_classes=10,
    shift_pixels=2,
    lam_recon=losses.LAM_RECON,
    dim_primary_capsule=8,
    dim_class_capsule=16,
    decoder=True,
    seed=None,
    digits_per_image=1,
    decoder_type=None,
    primary_kernel_size=None,
    primary_strides=1,
):
    """Build Efficient-CapsNet's training, evaluation and manipulation models.

    The defaults are the paper's MNIST network: 161,824 parameters without
    the decoder (its Table 1 counts 161,824 too), 16 primary capsules of 8
    dimensions and one self-attention routing step. The decoder, the margin
    and reconstruction losses, Length and Mask are CapsNet's, so every command
    that takes a CapsNet takes this model.

    Args:
        input_shape: `(height, width, channels)` of the images; at least
            11x11, so that the backbone leaves a grid of at least 1x1.
        num_classes: number of classes (output capsules).
        shift_pixels: random shift of up to this many pixels in training.
        lam_recon: weight of the reconstruction loss (0 to switch it off).
        dim_primary_capsule, dim_class_capsule: capsule sizes (8 and 16).
        decoder: build the reconstruction decoder.
        seed: seed for the random shifts.
        digits_per_image: 2 for MultiMNIST pairs: two positives in the margin
            loss and one reconstruction per digit (needs shift_pixels=0).
        decoder_type: "dense" (the paper's) or "deconv" (transposed
            convolutions, `capsnet.models.large_images`); None: dense up to
            40x40 pixels, else deconv.
        primary_kernel_size: side of the primary capsules' depthwise kernel;
            None: the whole grid the backbone leaves (the paper's: 16
            capsules). A smaller kernel, or the same at `primary_strides` > 1,
            leaves a grid of positions with 16 capsules each (7 at stride 3
            on a 36x36 image's 13x13 grid: 3x3 positions, 144 capsules).
        primary_strides: that kernel's stride (None: 1).

    Returns:
        `CapsNetModels(train, evaluate, manipulate)`.
    """
    input_shape = capsule_views.check_input_shape(input_shape)
    capsule_views.check_digits_per_image(digits_per_image, shift_pixels)
    if decoder_type is not None:
        image_sizes.check_decoder_type(decoder_type)
    validation.positive_int("num_classes", num_classes)
    capsule_views.check_image_side(
        "Efficient-CapsNet", input_shape, smallest_image_side(), "its backbone leaves a 1x1 grid"
    )
    features = backbone(input_shape)
    grid = features.output_shape[1:3]
    kernel_size, strides = _primary_convolution(primary_kernel_size, primary_strides, grid, input_shape)

    images = keras.Input(input_shape, name="image")
    shifted = RandomShift(shift_pixels, seed=seed, name="random_shift")(images)
    primary = DepthwisePrimaryCapsule(
        dim_primary_capsule, kernel_size=kernel_size, strides=strides, name="primarycaps"
    )
    digits = SelfAttentionCapsuleLayer(num_classes, dim_class_capsule, name="digitcaps")
    capsules = digits(primary(features(shifted)))
    if not decoder:
        return capsule_views.without_decoder(NAME, images, capsules, CAPSULE_PATH, digits_per_image)
    reconstruct = large_images.decoder_of_type(
        decoder_type,
        num_classes,
        dim_class_capsule,
        input_shape,
        hidden_initializer="he_normal",
        output_initializer="glorot_normal",
    )
    return capsule_views.with_decoder(
        NAME, images, shifted, capsules, reconstruct, lam_recon, CAPSULE_PATH, digits_per_image
    )


def _primary_convolution(kernel_size, strides, grid, input_shape):
    """The primary capsules' (kernel side, stride): `kernel_size`, or for None the
    whole (square) grid, where each channel becomes one number (the paper's);
    `strides`, or 1 for None."""
    strides = 1 if strides is None else validation.positive_int("primary_strides", strides)
    if kernel_size is None:
        return min(grid), strides
    validation.positive_int("primary_kernel_size", kernel_size)
    if kernel_size > min(grid):
        raise CapsNetInputError(
            f"primary_kernel_size={kernel_size} does not fit the {grid[0]}x{grid[1]} grid that "
            f"Efficient-CapsNet's backbone leaves on {input_shape[0]}x{input_shape[1]} images; "
            f"use at most {min(grid)}"
        )
    return kernel_size, strides


# The family's protocol (`capsnet.models.registry.ModelFamily`).
build = build_efficient_capsnet

views_of, classifier_only, _layer_options = capsule_views.family_functions(CAPSULE_PATH)


def architecture(train):
    """The options a built Efficient-CapsNet fixes: `capsule_views.architecture`'s,
    its `decoder_type` (None without a decoder) and its primary capsules' kernel
    side and stride."""
    primary = train.get_layer("primarycaps")
    return {
        **_layer_options(train),
        "decoder_type": large_images.decoder_type_of(train),
        "primary_kernel_size": primary.kernel_size,
        "primary_strides": primary.strides,
    }


loss = losses.margin_loss
