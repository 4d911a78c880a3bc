"""`capsnet export`: a trained model as ONNX, a TensorFlow SavedModel or OpenVINO IR.

Built on Keras's `Model.export`. The exported graph takes a float32 image
batch `(batch, height, width, channels)` in [0, 1], any batch size, and returns
the class capsules' lengths `(batch, num_classes)`; with `reconstruction`, also
the decoder's reconstruction of the longest capsule. Everything is written
beside its destination first and renamed into place, so a failed export
leaves no half-written files and keeps an earlier export.
"""

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from capsnet import backends, fast_ops
from capsnet.errors import CapsNetInputError
from capsnet.model_files import load_capsnet
from capsnet.models import classifier_only

# format -> the suffix of its default output path ("" for a folder)
FORMATS = {"onnx": ".onnx", "tf_saved_model": "", "openvino": ".xml"}
# The Python packages each format needs for its export (the `export` extra).
NEEDS = {"onnx": "onnx, onnxscript, tf2onnx", "tf_saved_model": "tensorflow", "openvino": "openvino"}


def default_output(weights, fmt):
    """`model.onnx`, `model_saved_model/` or `model.xml` beside the weights' name."""
    stem = Path(weights).name.removesuffix(".keras")
    return Path(f"{stem}_saved_model" if fmt == "tf_saved_model" else stem + FORMATS[fmt])


def export_model(config):
    """Export `config.weights` (an `ExportConfig`) and return the written paths."""
    import keras

    fmt = config.format
    output = Path(config.output or default_output(config.weights, fmt))
    if fmt == "openvino" and output.suffix != ".xml":
        raise CapsNetInputError(
            f"--output {output}: OpenVINO IR is an .xml file (with its .bin); end it in .xml"
        )
    _check_destination(output, fmt)
    backends.setup("float32", fast_paths=False)
    models = load_capsnet(config.weights)
    if config.reconstruction and models.manipulate is None:
        raise CapsNetInputError(
            f"{config.weights} has no decoder, so it cannot export reconstructions; "
            f"leave out --reconstruction"
        )
    model = models.evaluate if config.reconstruction else classifier_only(models).evaluate
    backend = keras.backend.backend()
    # The plain ops: the graph runs in other runtimes, with their own convolutions, at
    # any batch size (the CPU fast paths are measured for training at batch 100).
    scratch_dir = tempfile.TemporaryDirectory(dir=output.parent, prefix=f".{output.name}.")
    with fast_ops.plain(), scratch_dir as scratch:
        model(np.zeros((1, *model.inputs[0].shape[1:]), "float32"))  # Keras exports only models called once
        staged = Path(scratch) / ("model" + FORMATS[fmt])
        try:
            model.export(str(staged), format=fmt, verbose=False)
        except ImportError as error:
            raise CapsNetInputError(
                f"--format {fmt} from the {backend} backend needs a package that is not installed "
                f"({str(error).strip().splitlines()[0][:120]}); install it, or export from "
                f"--backend tensorflow (pip install 'capsnet[export]' has what that needs)"
            ) from None
        except Exception as error:  # the exporter cannot trace this backend's graph
            reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
            raise CapsNetInputError(
                f"Keras could not export --format {fmt} from the {backend} backend ({type(error).__name__}: "
                f"{reason}); the .keras file is the same on every backend, and every format exports "
                f"from --backend tensorflow (README: Export)"
            ) from None
        return _move_into_place(staged, output)


def _check_destination(output, fmt):
    """Fail before any work when `output` cannot be written."""
    parent = output.parent
    if not parent.is_dir():
        raise CapsNetInputError(f"--output {output}: the folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise CapsNetInputError(f"--output {output}: cannot write into {parent}; choose a writable folder")
    if output.exists() and output.is_dir() != (fmt == "tf_saved_model"):
        kind = "a folder" if output.is_dir() else "a file"
        raise CapsNetInputError(f"--output {output} is {kind} already; choose another path")


def _move_into_place(staged, output):
    """Rename the staged export onto `output` (and OpenVINO's .bin beside it)."""
    written = []
    if staged.suffix == ".xml":  # the weights first, so the .xml never names a missing .bin
        os.replace(staged.with_suffix(".bin"), output.with_suffix(".bin"))
        written.append(output.with_suffix(".bin"))
    if staged.is_dir():
        old = output.with_name(f".{output.name}.old")
        if output.exists():
            os.replace(output, old)
        os.replace(staged, output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, output)
    return [output, *written]
