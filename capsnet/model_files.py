"""Saving and loading CapsNet `.keras` files safely.

Saves go to a temporary file in the same folder and are renamed into place,
so an interrupted save never leaves a half-written model. Loads turn every
way a file can be wrong into one `CapsNetInputError` that says what to do.
"""

import json
import zipfile
import zlib

from capsnet import presets
from capsnet.atomic import atomic_write
from capsnet.errors import CapsNetInputError
from capsnet.model import views_of


def atomic_save(model, path):
    """`model.save(path)`, through a temporary file and a rename."""
    atomic_write(path, model.save)


def atomic_write_text(path, text):
    """Write a text file through a temporary file and a rename."""
    atomic_write(path, lambda temporary: temporary.write_text(text))


def load_capsnet(path):
    """Load a CapsNet saved by `capsnet train` (or `model.save`), uncompiled
    (`capsnet.training.load_for_resume` restores the optimizer too).

    Returns:
        `CapsNetModels(train, evaluate, manipulate)` sharing the file's weights.
    """
    import keras

    path = presets.resolve(path)
    fix = "pass --weights PATH to a .keras file written by `capsnet train`, or a preset (`capsnet info`)"
    if not path.is_file():
        raise CapsNetInputError(f"model file {path} not found; {fix}")
    if not zipfile.is_zipfile(path):
        raise CapsNetInputError(
            f"{path} is not a .keras model (not a zip archive: truncated, or another format); {fix}"
        )
    config = _read_config(path, fix)
    if "digitcaps" not in json.dumps(config):
        raise CapsNetInputError(f"{path} is a Keras model but not a CapsNet (no digitcaps layer); {fix}")
    import capsnet.layers  # noqa: F401  registers the layers for deserialisation

    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CapsNetInputError(f"could not load {path}: {message[:200]}; {fix}") from None
    if model.name == "capsnet_train":
        return views_of(model)
    raise CapsNetInputError(
        f"{path} holds the model {model.name!r}; save the training model "
        f"(CapsNetModels.train) so that all three views can be rebuilt"
    )


def model_kind(path):
    """ "efficient-capsnet" or "capsnet": the architecture saved in a .keras file
    (None when it cannot be read; loading it then reports why)."""
    try:
        config = json.dumps(_read_config(presets.resolve(path), ""))
    except (CapsNetInputError, OSError):
        return None
    return "efficient-capsnet" if "SelfAttentionCapsuleLayer" in config else "capsnet"


def _read_config(path, fix):
    """config.json of a .keras zip, after checking every entry's CRC."""
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
