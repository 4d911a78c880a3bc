"""Build any of capsnet's models by its name (the `--model` of the commands)."""

from capsnet.efficient_capsnet import build_efficient_capsnet
from capsnet.model import build_capsnet


def build(model, input_shape, num_classes, routings=3, **options):
    """A new `CapsNetModels` of kind `model` ("capsnet" or "efficient-capsnet").

    `routings` applies to capsnet only (Efficient-CapsNet routes in one step);
    `options` go to the builder (shift_pixels, lam_recon, seed, ...).
    """
    if model == "efficient-capsnet":
        return build_efficient_capsnet(input_shape=input_shape, num_classes=num_classes, **options)
    if model == "capsnet":
        return build_capsnet(input_shape=input_shape, num_classes=num_classes, routings=routings, **options)
    raise ValueError(f"unknown model {model!r}; use 'capsnet' or 'efficient-capsnet'")
