"""The model-family registry: one `ModelFamily` per kind of model, registered once.

A family is found by its `--model` name (`get_family`), by a saved model's
config (`family_of_config`: the family each model writes into its classes
layer, or, for files written by capsnet 0.1.x, the layer class that only that
family has), and by the name of one of its presets (`family_of_preset`).

Nothing here imports Keras: the command line asks the registry for its
choices before the backend is chosen. A family's Keras code lives in its own
module (`ModelFamily.module`), imported on first use.
"""

import importlib
from dataclasses import dataclass, field
from pathlib import Path

from capsnet.errors import CapsNetInputError

# The config key of the classes layer that holds the family's name.
FAMILY_KEY = "model_family"
# What a family's class scores can be (`ModelFamily.scores`), and one of them in words.
SCORE_WORDS = {"lengths": "length", "probabilities": "probability"}


@dataclass(frozen=True)
class TrainingRecipe:
    """Training settings a family trains with by default, or by name (`--recipe`).

    `lr_decay` is the multiplier per epoch (`lr_schedule` "epoch-exponential")
    or per `lr_decay_steps` steps ("step-exponential"); see `capsnet.schedules`.
    """

    epochs: int
    batch_size: int
    lr: float
    lr_decay: float
    source: str  # where the figures come from
    lr_schedule: str = "epoch-exponential"
    lr_decay_steps: int | None = None
    min_lr: float = 0.0

    def as_options(self):
        return {
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "lr_decay": self.lr_decay,
            "lr_schedule": self.lr_schedule,
            "lr_decay_steps": self.lr_decay_steps,
            "min_lr": self.min_lr,
        }


# CapsNet's two recipes, also the CNN baseline's (the paper trains both alike).
SEED_RECIPE = TrainingRecipe(
    # The seed project's (CapsNet-Keras): 50 epochs, batch 100, Adam 1e-3 x0.9 per epoch.
    epochs=50, batch_size=100, lr=1e-3, lr_decay=0.9, source="Sabour et al. (2017); CapsNet-Keras"
)  # fmt: skip
PAPER_RECIPE = TrainingRecipe(
    # The authors' (tensorflow/models, research/capsules: experiment.py, models/model.py):
    # Adam 1e-3 decayed x0.96 every 2,000 steps, continuously, floored at 1e-6, batch 128,
    # 300,000 steps: 640 epochs of 469 steps (60,000 images) make 300,160.
    epochs=640, batch_size=128, lr=1e-3, lr_decay=0.96, lr_schedule="step-exponential",
    lr_decay_steps=2000, min_lr=1e-6, source="the authors' code, tensorflow/models research/capsules",
)  # fmt: skip


@dataclass(frozen=True)
class ModelFamily:
    """One kind of model: how to build it, train it and read it back.

    Args:
        name: the `--model` name, also written into every saved model.
        summary: one line for the command line's help.
        module: the family's Keras module; it defines
            `build(input_shape, num_classes, **options) -> CapsNetModels`,
            `views_of(train_model) -> CapsNetModels`,
            `classifier_only(models) -> CapsNetModels` (no decoder, no
            shifts: what presets and exports hold),
            `architecture(train_model) -> dict` and `loss`, the Keras loss
            of the class scores (`y_true, y_pred -> (batch,)`).
        recipe: the `TrainingRecipe` `capsnet train` uses by default.
        recipes: recipe name -> `TrainingRecipe`, the choices of `--recipe`
            (the default among them under its name).
        options: the build options the family accepts besides `input_shape`
            and `num_classes` (what `capsnet train` may pass on).
        not_accepted: option -> why the family has no use for it (the
            command line's error when the option is given anyway).
        legacy_layer: the class name of a layer only this family has, which
            recognises files saved before the family was written into them.
        presets: preset name -> one line on what it is; the file is
            `preset_dir / f"{name}.keras"`.
        preset_dir: the folder of the family's preset files.
        decoder: whether the family's training model reconstructs the image;
            a file of such a family without its decoder (a preset) is a
            classifier only, which training cannot continue.
        scores: what the class scores are, for outputs and messages:
            "lengths" (of class capsules) or "probabilities" (a softmax).
    """

    name: str
    summary: str
    module: str
    recipe: TrainingRecipe
    recipes: dict = field(default_factory=dict)
    options: tuple = ()
    not_accepted: dict = field(default_factory=dict)
    legacy_layer: str | None = None
    presets: dict = field(default_factory=dict)
    preset_dir: Path | None = None
    decoder: bool = True
    scores: str = "lengths"

    def _module(self):
        return importlib.import_module(self.module)

    def build(self, input_shape, num_classes, **options):
        """A new `CapsNetModels` for images of `input_shape` and `num_classes` classes.

        Options the family does not take (see `options`) are left out when
        None and refused otherwise.
        """
        unknown = sorted(k for k, v in options.items() if k not in self.options and v is not None)
        if unknown:
            raise TypeError(f"model family {self.name!r} takes no option {', '.join(unknown)}")
        given = {k: v for k, v in options.items() if k in self.options}
        return self._module().build(input_shape=input_shape, num_classes=num_classes, **given)

    def views_of(self, train_model):
        """The `CapsNetModels` views of a (possibly reloaded) training model."""
        return self._module().views_of(train_model)

    def classifier_only(self, models):
        """The same trained classifier without decoder and shifts, sharing the weights of `models`."""
        return self._module().classifier_only(models)

    def architecture(self, train_model):
        """The options a built model fixes: `{"routings", "shift_pixels", "lam_recon"}`, None where absent."""
        return self._module().architecture(train_model)

    def loss(self):
        """The loss of the class scores, for `compile` (the reconstruction losses are in the model)."""
        return self._module().loss

    def recipe_named(self, name):
        """The recipe `--recipe name` picks (None: the default one)."""
        if name is None:
            return self.recipe
        if name not in self.recipes:
            choices = ", ".join(self.recipes) or "none but its default"
            raise CapsNetInputError(f"recipe={name!r}: model family {self.name!r} has the recipes {choices}")
        return self.recipes[name]

    def recipe_name(self):
        """The default recipe's name."""
        return next((name for name, recipe in self.recipes.items() if recipe == self.recipe), None)

    def accepts(self, option):
        return option in self.options

    def preset_path(self, name):
        return self.preset_dir / f"{name}.keras"


_FAMILIES = {}


def register_family(family):
    """Add `family` to the registry (once per name); returns it."""
    if family.name in _FAMILIES:
        raise ValueError(f"a model family named {family.name!r} is already registered")
    clash = set(family.presets) & set(all_presets())
    if clash:
        raise ValueError(f"preset {', '.join(sorted(clash))} of {family.name!r} is already registered")
    if family.scores not in SCORE_WORDS:
        raise ValueError(f"scores={family.scores!r} of {family.name!r}: use one of {', '.join(SCORE_WORDS)}")
    _FAMILIES[family.name] = family
    return family


def family_names():
    """The registered `--model` names, in registration order."""
    return tuple(_FAMILIES)


def get_family(name):
    """The family registered as `name`."""
    try:
        return _FAMILIES[name]
    except KeyError:
        raise CapsNetInputError(
            f"unknown model family {name!r}; choose one of {', '.join(_FAMILIES)}"
        ) from None


def all_presets():
    """preset name -> (family name, what it is), over every family."""
    return {preset: (f.name, what) for f in _FAMILIES.values() for preset, what in f.presets.items()}


def family_of_preset(name):
    """The family that ships preset `name`, or None."""
    return next((f for f in _FAMILIES.values() if name in f.presets), None)


def resolve_preset(path):
    """`path` itself, or the shipped file of the preset it names (a file that exists wins)."""
    path = Path(path)
    family = None if path.exists() else family_of_preset(str(path))
    return family.preset_path(str(path)) if family else path


def family_of_config(config):
    """The family of a saved model, from its `config.json` (a dict), or None.

    Models written by this version name their family in the classes layer's
    config (`FAMILY_KEY`); older files are recognised by a layer class that
    only one family has.
    """
    return family_of_layers(
        (layer["class_name"], layer["config"].get(FAMILY_KEY)) for layer in _layer_configs(config)
    )


def family_of_layers(layers):
    """The family named by one of `layers`, `(class name, family name or None)` pairs,
    else the one whose legacy layer class is among them, else None."""
    classes = set()
    for class_name, family in layers:
        if family in _FAMILIES:
            return _FAMILIES[family]
        classes.add(class_name)
    return next((f for f in _FAMILIES.values() if f.legacy_layer in classes), None)


def layer_classes(config):
    """The class names of every layer (and other serialised object) in a Keras config."""
    return {layer["class_name"] for layer in _layer_configs(config)}


def _layer_configs(config):
    """Every serialised object with a `class_name` inside a Keras config, depth first."""
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), dict):
            yield config
        for value in config.values():
            yield from _layer_configs(value)
    elif isinstance(config, list):
        for value in config:
            yield from _layer_configs(value)
