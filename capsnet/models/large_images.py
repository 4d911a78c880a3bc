"""What a capsule model adds for images larger than the paper's: a strided
convolutional stem before the capsules and a convolutional decoder (their
defaults by image size are in `capsnet.models.image_sizes`).

Up to 40 pixels a side (MNIST 28, CIFAR-10 32, affNIST 40) the
defaults are the paper's network: no stem and the dense decoder. Above it, the
stem halves the image until it is that small again (a 224x224 photo: three
blocks, 28x28 features, as many primary capsules as MNIST's), and the decoder
grows the image back with transposed convolutions instead of one dense unit
per pixel (1,024 x 150,528 weights at 224x224x3).
"""

import math

import keras

from capsnet.models.image_sizes import check_decoder_type, default_decoder_type

STEM_FILTERS = 64  # channels of every stem block: conv1's input then costs 64x MNIST's
STEM_KERNEL = 3
# The deconvolutional decoder starts from a grid no larger than this a side, with
# `DECODER_FILTERS[k]` channels after its k-th doubling (the last one repeats).
DECODER_START_SIDE = 8
DECODER_START_FILTERS = 128
DECODER_FILTERS = (64, 32, 16)


def conv_stem(blocks, input_shape):
    """`blocks` ReLU convolutions of `STEM_FILTERS` 3x3 filters with stride 2.

    Input shape: `(batch, *input_shape)`, `input_shape` `(height, width, channels)`.
    Output shape: `(batch, ceil(height / 2**blocks), ceil(width / 2**blocks), 64)`.
    """
    return keras.Sequential(
        [keras.Input(input_shape)]
        + [
            keras.layers.Conv2D(
                STEM_FILTERS, STEM_KERNEL, strides=2, padding="same", activation="relu", name=f"stem_{k}"
            )
            for k in range(1, blocks + 1)
        ],
        name="stem",
    )


def deconv_decoder(num_classes, dim_class_capsule, output_shape, hidden_initializer="glorot_uniform"):
    """A reconstruction network whose cost grows with the pixels only through
    its last, narrow convolutions: one dense layer to a small grid, transposed
    convolutions (stride 2) doubling it until it covers the image, a 3x3
    sigmoid convolution to the image's channels, then a crop to the exact size.

    Input shape: `(batch, num_classes * dim_class_capsule)`, the masked capsules.
    Output shape: `(batch, *output_shape)`, in float32 under mixed precision.
    """
    height, width, channels = output_shape
    doublings = 0
    while math.ceil(max(height, width) / 2**doublings) > DECODER_START_SIDE:
        doublings += 1
    start = (math.ceil(height / 2**doublings), math.ceil(width / 2**doublings))
    layers = [
        keras.Input((num_classes * dim_class_capsule,)),
        keras.layers.Dense(
            start[0] * start[1] * DECODER_START_FILTERS,
            activation="relu",
            kernel_initializer=hidden_initializer,
        ),
        keras.layers.Reshape((*start, DECODER_START_FILTERS)),
    ]
    for k in range(doublings):
        filters = DECODER_FILTERS[min(k, len(DECODER_FILTERS) - 1)]
        layers.append(
            keras.layers.Conv2DTranspose(
                filters,
                3,
                strides=2,
                padding="same",
                activation="relu",
                kernel_initializer=hidden_initializer,
            )
        )
    layers.append(keras.layers.Conv2D(channels, 3, padding="same", activation="sigmoid", dtype="float32"))
    extra = (start[0] * 2**doublings - height, start[1] * 2**doublings - width)
    if any(extra):
        layers.append(keras.layers.Cropping2D(((0, extra[0]), (0, extra[1])), dtype="float32"))
    return keras.Sequential(layers, name="decoder")


def stem_blocks_of(train):
    """The number of stem blocks of a built model (0 without a stem)."""
    names = {layer.name: layer for layer in train.layers}
    return len(names["stem"].layers) if "stem" in names else 0


def decoder_type_of(train):
    """ "deconv" or "dense" for a model with a decoder, None without one."""
    decoder = next((layer for layer in train.layers if layer.name == "decoder"), None)
    if decoder is None:
        return None
    deconv = any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in decoder.layers)
    return "deconv" if deconv else "dense"


def decoder_of_type(decoder_type, num_classes, dim_class_capsule, output_shape, **initializers):
    """The decoder named by `decoder_type` ("dense": `capsule_views.decoder_net`,
    "deconv": `deconv_decoder`, None: by image size); `initializers` go to the
    dense one (`hidden_initializer`, `output_initializer`), the hidden one to both."""
    from capsnet.models import capsule_views

    decoder_type = check_decoder_type(decoder_type or default_decoder_type(output_shape))
    if decoder_type == "dense":
        return capsule_views.decoder_net(num_classes, dim_class_capsule, output_shape, **initializers)
    hidden = {k: v for k, v in initializers.items() if k == "hidden_initializer"}
    return deconv_decoder(num_classes, dim_class_capsule, output_shape, **hidden)
