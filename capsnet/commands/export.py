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
# The backends Keras 3.15 exports each format from, best first (measured, docs/export.md):
# jax needs jax2onnx for ONNX and its graph holds XlaCallModule, which OpenVINO cannot
# read; torch.export rejects the SavedModel's dynamic batch.
WRITERS = {
    "onnx": ("tensorflow", "torch"),
    "tf_saved_model": ("tensorflow", "jax"),
    "openvino": ("tensorflow", "torch"),
}
# What the exported graph calls its input and outputs: the class scores get the
# family's word for them ("lengths", or "probabilities" for the CNN baseline).
INPUT_NAME = "image"
RECONSTRUCTION_NAME = "reconstruction"


def output_names(models):
    """The exported outputs' names for `models`: (class scores, reconstruction)."""
    from capsnet.models import family_of_model

    return (family_of_model(models.train).scores, RECONSTRUCTION_NAME)


def default_output(weights, fmt):
    """`model.onnx`, `model_saved_model/` or `model.xml` beside the weights' name."""
    stem = Path(weights).name.removesuffix(".keras")
    return Path(f"{stem}_saved_model" if fmt == "tf_saved_model" else stem + FORMATS[fmt])


def writer_backend(fmt, backend):
    """The backend to export `fmt` from: `backend` when it can, else the first
    installed one that can (None when none is installed)."""
    if backend in WRITERS[fmt]:
        return backend
    return next((b for b in WRITERS[fmt] if b in backends.installed()), None)


def export_elsewhere(config, backend, note):
    """Run this export in a fresh process on `backend`; returns the paths it wrote."""
    from capsnet.fresh_process import run_on_backend

    checked_request(config)
    here = _current_backend()
    note(f"--format {config.format} is written by {backend}, not {here}: exporting in a {backend} process")
    args = ["-m", "capsnet", "export", "--weights", config.weights, "--format", config.format]
    args += ["--output", Path(config.output or default_output(config.weights, config.format)).resolve()]
    if config.reconstruction:
        args.append("--reconstruction")
    done = run_on_backend(backend, args)
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.startswith("Error:")]
        reason = lines[-1].removeprefix("Error:").strip() if lines else f"exit code {done.returncode}"
        raise CapsNetInputError(f"the export in a {backend} process failed: {reason}")
    wrote = next(line for line in done.stdout.splitlines() if line.startswith("wrote "))
    return [Path(path) for path in wrote.removeprefix("wrote ").split(", ")]


def checked_request(config):
    """The models of `config.weights` once the request is known to be possible (a
    writable destination of the format's kind, a decoder for `reconstruction`);
    raises CapsNetInputError before any export, and before a process of another
    backend is started for it."""
    output = Path(config.output or default_output(config.weights, config.format))
    if config.format == "openvino" and output.suffix != ".xml":
        raise CapsNetInputError(
            f"--output {output}: OpenVINO IR is an .xml file (with its .bin); end it in .xml"
        )
    _check_destination(output, config.format)
    models = load_capsnet(config.weights)
    if config.reconstruction and models.manipulate is None:
        raise CapsNetInputError(
            f"{config.weights} has no decoder, so it cannot export reconstructions; "
            f"leave out --reconstruction"
        )
    return models


def _current_backend():
    import keras

    return keras.backend.backend()


def export_model(config):
    """Export `config.weights` (an `ExportConfig`) and return the written paths.

    The graph's input is called "image", its outputs "lengths" ("probabilities"
    for the CNN baseline) and, with `reconstruction`, "reconstruction"; the
    class names and the model family go into the file (ONNX metadata, OpenVINO
    runtime info, class_names.json in a SavedModel).
    """
    import keras

    fmt = config.format
    output = Path(config.output or default_output(config.weights, fmt))
    backends.setup("float32", fast_paths=False)
    models = checked_request(config)
    model = models.evaluate if config.reconstruction else classifier_only(models).evaluate
    names = output_names(models)[: len(model.outputs)]
    if fmt == "tf_saved_model":  # the signature's output keys are the dict's
        model = _with_named_outputs(model, names)
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
                f"from --backend tensorflow (docs/export.md)"
            ) from None
        _name_and_describe(staged, fmt, names, _description(models))
        return _move_into_place(staged, output)


def _with_named_outputs(model, names):
    """`model` with a dict of outputs named `names` (e.g. "lengths", "reconstruction")."""
    import keras

    image = keras.Input(model.inputs[0].shape[1:], name=INPUT_NAME)
    outputs = model(image)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return keras.Model(image, dict(zip(names, outputs, strict=True)), name="capsnet_export")


def _description(models):
    """What an exported file records about its model: class names (the indices
    where the model has none), family and digits per image."""
    from capsnet.models import family_of_model
    from capsnet.models.capsule_views import class_names, digits_per_image

    num_classes = models.evaluate.outputs[0].shape[-1]
    return {
        "class_names": class_names(models) or [str(k) for k in range(num_classes)],
        "model_family": family_of_model(models.train).name,
        "digits_per_image": digits_per_image(models.train),
    }


def _name_and_describe(staged, fmt, names, description):
    """Name the staged export's input and outputs and store `description` in it."""
    import json

    if fmt == "onnx":
        _name_onnx(staged, names, description)
    elif fmt == "openvino":
        _name_openvino(staged, names, description)
    else:
        (staged / "class_names.json").write_text(json.dumps(description, indent=2))


def _name_onnx(path, names, description):
    import json

    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    renamed = {graph.input[0].name: INPUT_NAME}
    renamed.update({output.name: name for output, name in zip(graph.output, names, strict=True)})
    for value in [*graph.input, *graph.output, *graph.value_info]:
        value.name = renamed.get(value.name, value.name)
    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [renamed.get(name, name) for name in node.output]
    for key, value in description.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))


def _name_openvino(path, names, description):
    import json

    import openvino

    core = openvino.Core()
    model = core.read_model(str(path))
    model.inputs[0].get_tensor().set_names({INPUT_NAME})
    for output, name in zip(model.outputs, names, strict=True):
        output.get_tensor().set_names({name})
    for key, value in description.items():
        model.set_rt_info(json.dumps(value), ["capsnet", key])
    renamed = path.with_name("named.xml")
    openvino.save_model(model, str(renamed), compress_to_fp16=False)
    del model
    os.replace(renamed.with_suffix(".bin"), path.with_suffix(".bin"))
    os.replace(renamed, path)


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
