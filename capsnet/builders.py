"""Build any of capsnet's models by its name (the `--model` of the commands)."""

from capsnet.efficient_capsnet import build_efficient_capsnet
from capsnet.efficient_capsnet import smallest_image_side as efficient_smallest_side
from capsnet.errors import CapsNetInputError
from capsnet.model import build_capsnet
from capsnet.model import smallest_image_side as capsnet_smallest_side


def build(model, input_shape, num_classes, routings=3, **options):
    """A new `CapsNetModels` of kind `model` ("capsnet" or "efficient-capsnet").

    `routings` applies to capsnet only (Efficient-CapsNet routes in one step);
    `options` go to the builder (shift_pixels, lam_recon, seed, ...).

    Raises:
        CapsNetInputError: images too small for the model (the message names
            the smallest size).
    """
    smallest = {"capsnet": capsnet_smallest_side(), "efficient-capsnet": efficient_smallest_side()}.get(model)
    if smallest and min(input_shape[:2]) < smallest:
        raise CapsNetInputError(
            f"--model {model} needs images of at least {smallest}x{smallest} pixels, the data has "
            f"{input_shape[0]}x{input_shape[1]}; use larger images"
        )
    if model == "efficient-capsnet":
        return build_efficient_capsnet(input_shape=input_shape, num_classes=num_classes, **options)
    if model == "capsnet":
        return build_capsnet(input_shape=input_shape, num_classes=num_classes, routings=routings, **options)
    raise ValueError(f"unknown model {model!r}; use 'capsnet' or 'efficient-capsnet'")
