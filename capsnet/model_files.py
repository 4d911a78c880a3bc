"""Saving and loading capsnet `.keras` files safely.

Saves go to a temporary file in the same folder and are renamed into place,
so an interrupted save never leaves a half-written model. Loads turn every
way a file can be wrong into one `CapsNetInputError` that says what to do,
and ask the model-family registry (`capsnet.models`) what the file holds.
"""

import json
import zipfile
import zlib
from pathlib import Path

from capsnet import models as families
from capsnet.atomic import atomic_write
from capsnet.errors import CapsNetInputError


def atomic_save(model, path, optimizer=True):
    """`model.save(path)`, through a temporary file and a rename.

    `optimizer=False` leaves the optimizer's state out (Adam's two moments
    make a CapsNet file three times larger): for models to use, not to
    resume, which the checkpoint is for. A .keras file has no such option,
    so the model's optimizer is set aside while it is written.
    """
    if optimizer or getattr(model, "optimizer", None) is None:
        atomic_write(path, model.save)
        return
    kept = model.optimizer
    model.optimizer = None
    try:
        atomic_write(path, model.save)
    finally:
        model.optimizer = kept


def link_or_copy(source, target):
    """Make `target` name the same file as `source` (a hard link, renamed into
    place), where the file system allows it; else leave `target` as it is."""
    import os

    temporary = Path(target).with_name(Path(target).name + ".link")
    try:
        temporary.unlink(missing_ok=True)
        os.link(source, temporary)
        os.replace(temporary, target)
    except OSError:
        temporary.unlink(missing_ok=True)


def load_capsnet(path):
    """Load a model saved by `capsnet train` (or `model.save`), or a preset, uncompiled
    (`capsnet.training.load_for_resume` restores the optimizer too).

    Returns:
        `CapsNetModels(train, evaluate, manipulate)` sharing the file's weights.

    Raises:
        CapsNetInputError: the file is missing, damaged, or not a model of a
            registered family (the message names `weights=`).
    """
    import keras

    path = families.resolve_preset(path)
    fix = "pass weights=PATH to a .keras file written by `capsnet train`, or a preset (`capsnet info`)"
    if not path.is_file():
        raise CapsNetInputError(f"model file {path} not found; {fix}")
    if not zipfile.is_zipfile(path):
        raise CapsNetInputError(
            f"{path} is not a .keras model (not a zip archive: truncated, or another format); {fix}"
        )
    family = families.family_of_config(read_config(path, fix))
    if family is None:
        raise CapsNetInputError(
            f"{path} is a Keras model but not a CapsNet of any registered family "
            f"({', '.join(families.family_names())}); {fix}"
        )
    import capsnet.layers  # noqa: F401  registers the layers for deserialisation

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CapsNetInputError(f"could not load {path}: {message[:200]}; {fix}") from None
    if model.name == "capsnet_train":
        return family.views_of(model)
    raise CapsNetInputError(
        f"{path} holds the model {model.name!r}; save the training model "
        f"(CapsNetModels.train) so that all three views can be rebuilt"
    )


def read_config(path, fix="pass weights=PATH to a .keras file written by `capsnet train`"):
    """config.json of a .keras zip (a dict), after checking every entry's CRC."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            if damaged is not None:
                raise CapsNetInputError(f"{path} is damaged (bad checksum in {damaged}); {fix}")
            if "config.json" not in archive.namelist():
                raise CapsNetInputError(f"{path} is a zip file but not a Keras model (no config.json); {fix}")
            raw = archive.read("config.json")
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as error:
        raise CapsNetInputError(f"{path} is damaged ({type(error).__name__}: {error}); {fix}") from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CapsNetInputError(f"{path} has a config.json that is not valid JSON; {fix}") from None


def check_input_shape(models, input_shape, what="the data"):
    """Raise unless the model was built for images of `input_shape`."""
    expected = tuple(models.evaluate.inputs[0].shape[1:])
    if tuple(input_shape) != expected:
        raise CapsNetInputError(
            f"the model takes images of shape {expected} but {what} has {tuple(input_shape)}; "
            f"use a model trained on this kind of image, or train one"
        )


def start_from(trained, new, source="the trained model"):
    """Copy every weighted layer of `trained` into the layer of the same name in
    `new` (a `CapsNetModels` each), and the class names with them: how a
    classifier saved without its decoder (a preset) is trained further, the
    capsule layers from the file and the decoder fresh.

    Raises:
        CapsNetInputError: a layer of `trained` has no counterpart in `new`, or
            one of another shape (another family, image size or class count).
    """
    from capsnet.models.capsule_views import classes_layer

    layers = {layer.name: layer for layer in new.train.layers}
    for layer in trained.train.layers:
        if not layer.weights:
            continue
        counterpart = layers.get(layer.name)
        shapes = [tuple(w.shape) for w in layer.weights]
        if counterpart is None or shapes != [tuple(w.shape) for w in counterpart.weights]:
            raise CapsNetInputError(
                f"the layer {layer.name!r} of {source} does not fit the new model (weights {shapes}); "
                f"start from a model of the same family, image size and classes"
            )
        counterpart.set_weights(layer.get_weights())
    classes_layer(new.train).class_names = classes_layer(trained.train).class_names
    return new
