"""What every capsule family shares: the three views of one model, the decoder,
and checks of the arguments every builder takes.

A family's builder makes the class capsules; `with_decoder` or
`without_decoder` then add the classes layer (`Length`, which records the
family's name and the class names in the saved model) and the decoder, and
`views_of` rebuilds the evaluation and manipulation views from a training
model, given the names of the family's layers from image to class capsules.
"""

import math
from typing import NamedTuple, Optional

import keras

from capsnet.errors import CapsNetInputError
from capsnet.layers import Length, Mask, ReconstructionLoss

# Layers of a capsule path that a model may lack (CapsNet's stem, built for large images only).
OPTIONAL_LAYERS = frozenset({"stem"})


class CapsNetModels(NamedTuple):
    """The three views of one capsule model; they share every weight.

    train: `[image, one_hot_label] -> [lengths, reconstruction]`; shifts the
        image (training only), masks with the true label and adds the
        reconstruction loss. `image -> lengths` without a decoder. With two
        digits per image (MultiMNIST): `[image, label_1, label_2, digit_1,
        digit_2] -> [lengths, reconstruction_1, reconstruction_2]`, each digit
        reconstructed from its own class capsule against its own image.
    evaluate: `image -> [lengths, reconstruction]`, masked by the longest
        capsule; with two digits per image, `[lengths, reconstruction_1,
        reconstruction_2]` from the longest and the second longest.
    manipulate: `[image, one_hot_label, noise] -> reconstruction`, where
        `noise` `(batch, num_classes, dim)` is added to the class capsules first.
        None without a decoder.
    """

    train: keras.Model
    evaluate: keras.Model
    manipulate: Optional[keras.Model]


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


def with_decoder(family, images, shifted, capsules, decoder, lam_recon, capsule_path, digits_per_image=1):
    """The training model `[image, label] -> [lengths, reconstruction]` with its
    reconstruction loss (of the shifted image), and its views.

    Args:
        family: the family's registered name, saved in the classes layer.
        images: the model's image input.
        shifted: the augmented images the capsules were computed from.
        capsules: `(batch, num_classes, dim)` class capsules.
        decoder: `decoder_net(...)`.
        lam_recon: weight of the reconstruction loss.
        capsule_path: names of the layers from image to class capsules.
        digits_per_image: with 2 (MultiMNIST), the training model takes each
            digit's label and image alone, reconstructs each digit from its own
            capsule and adds the two reconstruction losses; the images must then
            not be shifted inside the model (the pairs come shifted).
    """
    if digits_per_image > 1:
        return _with_digit_decoders(
            family, images, capsules, decoder, lam_recon, capsule_path, digits_per_image
        )
    labels = keras.Input((capsules.shape[1],), name="label")
    reconstruction = decoder(Mask(name="mask_by_label")([capsules, labels]))
    reconstruction = ReconstructionLoss(lam_recon, name="reconstruction")([shifted, reconstruction])
    lengths = Length(model_family=family, name="length")(capsules)
    train = keras.Model([images, labels], [lengths, reconstruction], name="capsnet_train")
    return views_of(train, capsule_path)


def _with_digit_decoders(family, images, capsules, decoder, lam_recon, capsule_path, digits_per_image):
    """`with_decoder` for several digits per image: one reconstruction (and loss) per digit."""
    numbers = range(1, digits_per_image + 1)
    labels = [keras.Input((capsules.shape[1],), name=f"label_{k}") for k in numbers]
    digits = [keras.Input(images.shape[1:], name=f"digit_{k}") for k in numbers]
    reconstructions = [
        ReconstructionLoss(lam_recon, name=f"reconstruction_{k}")(
            [digit, decoder(Mask(name=f"mask_by_label_{k}")([capsules, label]))]
        )
        for k, label, digit in zip(numbers, labels, digits, strict=True)
    ]
    lengths = Length(model_family=family, digits_per_image=digits_per_image, name="length")(capsules)
    train = keras.Model([images, *labels, *digits], [lengths, *reconstructions], name="capsnet_train")
    return views_of(train, capsule_path)


def check_digits_per_image(digits_per_image, shift_pixels):
    """Refuse in-model shifts for several digits per image: each digit's own
    image, the reconstruction target, would not move with the pair."""
    if digits_per_image == 1:
        return
    if isinstance(digits_per_image, bool) or not isinstance(digits_per_image, int) or digits_per_image < 1:
        raise ValueError(f"`digits_per_image` must be a positive integer, got {digits_per_image!r}")
    if shift_pixels:
        raise ValueError(
            f"shift_pixels={shift_pixels} with digits_per_image={digits_per_image}: the pairs come "
            f"shifted from the data (MultiMNIST); build with shift_pixels=0"
        )


def without_decoder(family, images, capsules, capsule_path, digits_per_image=1):
    """The training model `image -> lengths` and its evaluation view (no manipulation)."""
    lengths = Length(model_family=family, digits_per_image=digits_per_image, name="length")(capsules)
    train = keras.Model(images, lengths, name="capsnet_train")
    return CapsNetModels(train, _evaluation_model(train, capsule_path), None)


def classifier_only(models, capsule_path):
    """The same trained capsules without the decoder (and without the random
    shifts): `image -> lengths`, sharing the weights of `models`."""
    images = keras.Input(models.train.inputs[0].shape[1:], name="image")
    length = classes_layer(models.train)
    capsules = _capsules(models.train, images, capsule_path)
    classifier = without_decoder(length.model_family, images, capsules, capsule_path, length.digits_per_image)
    classes_layer(classifier.train).class_names = class_names(models)
    return classifier


def family_functions(capsule_path):
    """A capsule family's `views_of`, `classifier_only` and `architecture` (the
    `ModelFamily` protocol), for the layers `capsule_path` from image to class capsules."""

    def family_views_of(train):
        return views_of(train, capsule_path)

    def family_classifier_only(models):
        return classifier_only(models, capsule_path)

    return family_views_of, family_classifier_only, architecture


def classes_layer(model):
    """The layer whose output is the class scores and that keeps the class names
    (the capsules' `Length`)."""
    return next(layer for layer in model.layers if hasattr(layer, "class_names"))


def class_names(models):
    """The class names saved with a model (a list, in capsule order), or None."""
    return classes_layer(models.train).class_names


def digits_per_image(model):
    """How many digits of different classes each image holds for `model` (any
    view): 1, or 2 for MultiMNIST."""
    layers = [layer for layer in model.layers if hasattr(layer, "class_names")]
    return getattr(layers[0], "digits_per_image", 1) if layers else 1


def views_of(train, capsule_path):
    """The three views of a (possibly reloaded) training model, sharing weights."""
    evaluate = _evaluation_model(train, capsule_path)
    if "decoder" not in [layer.name for layer in train.layers]:
        return CapsNetModels(train, evaluate, None)
    return CapsNetModels(train, evaluate, _manipulation_model(train, capsule_path))


def architecture(train, routings_layer="digitcaps"):
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
        "routings": read(routings_layer, "routings"),
        "shift_pixels": read("random_shift", "shift_pixels"),
        "lam_recon": read("reconstruction", "lam_recon") or read("reconstruction_1", "lam_recon"),
    }


def check_input_shape(input_shape):
    """`input_shape` as a tuple of three positive ints, or a ValueError."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise ValueError(
            f"`input_shape` must be (height, width, channels) of positive ints, got {input_shape!r}"
        )
    return shape


def check_image_side(model_name, input_shape, side, why):
    """Refuse images smaller than `side` x `side` for `model_name` (`why`: what needs that size)."""
    if min(input_shape[:2]) < side:
        raise CapsNetInputError(
            f"{model_name} needs images of at least {side}x{side} pixels ({why}), "
            f"got {input_shape[0]}x{input_shape[1]}; use larger images"
        )


def _capsules(train, images, capsule_path):
    """The class capsules `(batch, classes, dim)` of `images`, through the layers
    `capsule_path` of `train`, in order; a model without them all (a Keras file
    that borrows our layers or names but not the layout) is refused in one line."""
    present = {layer.name for layer in train.layers}
    missing = [name for name in capsule_path if name not in present and name not in OPTIONAL_LAYERS]
    capsule_path = [name for name in capsule_path if name in present]
    family = getattr(classes_layer(train), "model_family", None) or "capsule model"
    if missing:
        raise CapsNetInputError(
            f"the model {train.name!r} is not laid out as a {family} (it has no layer "
            f"{', '.join(map(repr, missing))}); load a model written by `capsnet train` or a preset"
        )
    for name in capsule_path:
        images = train.get_layer(name)(images)
    if len(images.shape) != 3:
        raise CapsNetInputError(
            f"the model {train.name!r} is not laid out as a {family} (its {capsule_path[-1]!r} "
            f"gives {tuple(images.shape[1:])}, not (classes, dim) capsules); load a model written "
            f"by `capsnet train` or a preset"
        )
    return images


def _evaluation_model(train, capsule_path):
    images = keras.Input(train.inputs[0].shape[1:], name="image")
    capsules = _capsules(train, images, capsule_path)
    lengths = classes_layer(train)(capsules)
    if "decoder" not in [layer.name for layer in train.layers]:
        return keras.Model(images, lengths, name="capsnet_eval")
    count = digits_per_image(train)
    if count == 1:
        reconstruction = train.get_layer("decoder")(Mask(name="mask_by_length")(capsules))
        return keras.Model(images, [lengths, reconstruction], name="capsnet_eval")
    reconstructions = [
        train.get_layer("decoder")(Mask(rank, name=f"mask_by_length_{rank}")(capsules))
        for rank in range(1, count + 1)
    ]
    return keras.Model(images, [lengths, *reconstructions], name="capsnet_eval")


def _manipulation_model(train, capsule_path):
    images = keras.Input(train.inputs[0].shape[1:], name="image")
    labels = keras.Input(train.inputs[1].shape[1:], name="label")
    capsules = _capsules(train, images, capsule_path)
    noise = keras.Input(capsules.shape[1:], name="noise")
    noisy = keras.layers.Add(name="add_noise")([capsules, noise])
    reconstruction = train.get_layer("decoder")(Mask(name="mask_by_label")([noisy, labels]))
    return keras.Model([images, labels, noise], reconstruction, name="capsnet_manipulate")
