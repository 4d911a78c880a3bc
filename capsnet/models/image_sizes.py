"""The defaults by image size of a capsule model's stem and decoder
(`capsnet.models.large_images` builds them). No Keras here: the command line
reads the choices before the backend is picked."""

import math

# The largest side (pixels) at which the paper's network is the default.
PAPER_SIDE = 40
DECODER_TYPES = ("dense", "deconv")


def default_stem_blocks(input_shape):
    """How many stride-2 blocks bring the shorter side of `input_shape`
    `(height, width, channels)` down to `PAPER_SIDE` or less: 0 up to 40x40,
    3 at 224x224."""
    side, blocks = min(input_shape[:2]), 0
    while side > PAPER_SIDE:
        side, blocks = math.ceil(side / 2), blocks + 1
    return blocks


def default_decoder_type(input_shape):
    """ "dense" (the paper's) for images up to `PAPER_SIDE` a side, else "deconv"."""
    return "dense" if max(input_shape[:2]) <= PAPER_SIDE else "deconv"


def check_decoder_type(decoder_type):
    """`decoder_type` itself when it is one of `DECODER_TYPES`, else a ValueError."""
    if decoder_type not in DECODER_TYPES:
        raise ValueError(f"`decoder_type` must be one of {', '.join(DECODER_TYPES)}, got {decoder_type!r}")
    return decoder_type
