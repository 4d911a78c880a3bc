"""Model families, one folder each, registered once.

    capsnet/models/<family>/__init__.py   the family's registration (`ModelFamily`):
                                          name, recipe, options, presets
    capsnet/models/<family>/model.py      its Keras builder and views
    capsnet/models/<family>/presets/      its shipped .keras files

`get_family(name)` finds a family by its `--model` name, `family_of_file(path)`
by a saved model, `family_of_preset(name)` by a preset. Importing this package
does not import Keras. Adding a family is one folder plus one import below.
"""

# Registration order is the order --help lists the families in: the capsule families first.
# isort: off
from capsnet.models import capsnet as _capsnet  # noqa: F401  (registers the family)
from capsnet.models import efficient_capsnet as _efficient_capsnet  # noqa: F401
from capsnet.models import cnn_baseline as _cnn_baseline  # noqa: F401

# isort: on
from capsnet.models.registry import (
    FAMILY_KEY,
    SCORE_WORDS,
    ModelFamily,
    TrainingRecipe,
    all_presets,
    family_names,
    family_of_config,
    family_of_layers,
    family_of_preset,
    get_family,
    layer_classes,
    register_family,
    resolve_preset,
)


def family_of_model(model):
    """The family of a built or loaded Keras model (any of its views), or None.

    Reads the layers' attributes, not their configs: serialising every layer
    would cost more than the answer."""
    return family_of_layers(
        (type(layer).__name__, getattr(layer, FAMILY_KEY, None)) for layer in model.layers
    )


def _family_of(model):
    family = family_of_model(model)
    if family is None:
        raise ValueError(
            f"{model.name!r} is not a model of a registered family ({', '.join(family_names())})"
        )
    return family


def views_of(train):
    """The `CapsNetModels` views of a (possibly reloaded) training model of any family."""
    return _family_of(train).views_of(train)


def classifier_only(models):
    """The classifier of `models` (any family) without decoder and shifts, sharing its weights."""
    return _family_of(models.train).classifier_only(models)


def family_of_file(path):
    """The family of the model saved in `path` (a .keras file or a preset), or None
    when the file cannot be read (loading it then says why)."""
    from capsnet.model_files import read_config

    try:
        return family_of_config(read_config(resolve_preset(path)))
    except (OSError, ValueError):
        return None


def layer_classes_of_file(path):
    """The class names of the layers saved in `path` (a .keras file or a preset);
    empty when the file cannot be read (loading it then says why)."""
    from capsnet.model_files import read_config

    try:
        return layer_classes(read_config(resolve_preset(path)))
    except (OSError, ValueError):
        return set()


def build(name, input_shape, num_classes, **options):
    """A new `CapsNetModels` of family `name` (see `ModelFamily.build`)."""
    return get_family(name).build(input_shape, num_classes, **options)


__all__ = [
    "FAMILY_KEY",
    "SCORE_WORDS",
    "ModelFamily",
    "TrainingRecipe",
    "all_presets",
    "build",
    "classifier_only",
    "family_names",
    "family_of_config",
    "layer_classes",
    "layer_classes_of_file",
    "family_of_file",
    "family_of_model",
    "family_of_preset",
    "get_family",
    "register_family",
    "resolve_preset",
    "views_of",
]
