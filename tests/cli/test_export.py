"""`capsnet export`: each format loaded by its own runtime and compared with Keras."""

import keras
import numpy as np
import pytest

from capsnet.data import SAMPLE
from capsnet.model_files import load_capsnet
from capsnet.models import resolve_preset as resolve
from tests.helpers import assert_input_error, invoke

pytestmark = pytest.mark.slow  # subprocesses or training runs

BACKEND = keras.backend.backend()
# Measured (docs/export.md): where Keras 3.15 exports each format from.
EXPORTS_FROM = {
    "onnx": {"torch", "tensorflow"},  # jax needs jax2onnx, which is not installed
    "tf_saved_model": {"tensorflow", "jax"},  # torch.export rejects the dynamic batch
    "openvino": {"torch", "tensorflow"},  # jax's graph holds XlaCallModule, which OpenVINO cannot read
}
SUFFIX = {"onnx": ".onnx", "tf_saved_model": "", "openvino": ".xml"}
RUNTIME = {"onnx": "onnxruntime", "tf_saved_model": "tensorflow", "openvino": "openvino"}


@pytest.fixture(scope="module")
def digits():
    with np.load(SAMPLE) as sample:
        return sample["x_test"][:32].astype("float32")[..., None] / 255


def run_export(path, fmt, x):
    """The exported model's outputs for `x`, read by the format's own runtime."""
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path))
        return session.run(None, {session.get_inputs()[0].name: x})
    if fmt == "openvino":
        import openvino

        # f32: on CPUs with bfloat16 units OpenVINO otherwise infers in bfloat16 (off by ~2e-3).
        compiled = openvino.Core().compile_model(str(path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        result = compiled(x)
        return [result[output] for output in compiled.outputs]
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))  # held: its variables die with it
    outputs = loaded.serve(x)
    if isinstance(outputs, dict):  # named outputs, in the order lengths, reconstruction
        outputs = [outputs[name] for name in ("lengths", "reconstruction") if name in outputs]
    return [np.asarray(o) for o in (outputs if isinstance(outputs, (list, tuple)) else [outputs])]


def names_and_classes(path, fmt):
    """(input name, output names, class names) an export records, read by its runtime."""
    import json

    if fmt == "onnx":
        import onnx

        model = onnx.load(str(path))
        metadata = {entry.key: json.loads(entry.value) for entry in model.metadata_props}
        inputs, outputs = [i.name for i in model.graph.input], [o.name for o in model.graph.output]
        return inputs[0], outputs, metadata["class_names"]
    if fmt == "openvino":
        import openvino

        model = openvino.Core().read_model(str(path))
        classes = json.loads(model.get_rt_info(["capsnet", "class_names"]).astype(str))
        outputs = [next(iter(o.get_names())) for o in model.outputs]
        return next(iter(model.inputs[0].get_names())), outputs, classes
    import tensorflow as tf

    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    (image,) = signature.structured_input_signature[1]
    classes = json.loads((path / "class_names.json").read_text())["class_names"]
    return image, sorted(signature.structured_outputs), classes


@pytest.mark.parametrize("fmt", sorted(EXPORTS_FROM))
def test_export_matches_keras_from_any_backend_with_names(fmt, digits, tmp_path):
    output = tmp_path / f"model{SUFFIX[fmt]}"
    result = invoke("export", "--weights", "efficient-capsnet-mnist", "--format", fmt, "--output", output)
    assert result.exit_code == 0, result.output
    if BACKEND not in EXPORTS_FROM[fmt]:  # written in a fresh process of a backend that can
        assert f"note: --format {fmt} is written by tensorflow, not {BACKEND}" in result.output
    pytest.importorskip(RUNTIME[fmt])
    assert names_and_classes(output, fmt) == ("image", ["lengths"], [str(k) for k in range(10)])
    expected = keras.ops.convert_to_numpy(load_capsnet(resolve("efficient-capsnet-mnist")).evaluate(digits))
    for batch in (digits, digits[:3]):  # any batch size
        (lengths,) = run_export(output, fmt, batch)
        np.testing.assert_allclose(lengths, expected[: len(batch)], atol=1e-4, rtol=0)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


@pytest.mark.one_backend
def test_export_with_reconstruction(trained_dir, digits, tmp_path):
    fmt = next(f for f in ("onnx", "tf_saved_model") if BACKEND in EXPORTS_FROM[f])
    pytest.importorskip(RUNTIME[fmt])
    output = tmp_path / f"capsnet{SUFFIX[fmt]}"
    weights = trained_dir / "trained_model.keras"
    result = invoke("export", "--weights", weights, "--format", fmt, "--output", output, "--reconstruction")
    assert result.exit_code == 0, result.output
    lengths, reconstruction = (keras.ops.convert_to_numpy(t) for t in load_capsnet(weights).evaluate(digits))
    exported = run_export(output, fmt, digits)
    by_shape = {o.shape: o for o in exported}
    np.testing.assert_allclose(by_shape[lengths.shape], lengths, atol=1e-4, rtol=0)
    np.testing.assert_allclose(by_shape[reconstruction.shape], reconstruction, atol=1e-4, rtol=0)


def test_bad_export_requests(tmp_path, monkeypatch):
    """Refused in this process, before an exporting process of another backend starts."""
    from capsnet import fresh_process

    def no_process(*args, **kwargs):
        raise AssertionError("a bad request started an exporting process")

    monkeypatch.setattr(fresh_process, "run_on_backend", no_process)
    preset = ["--weights", "efficient-capsnet-mnist"]
    result = invoke("export", *preset, "--format", "caffe")
    assert result.exit_code == 2 and "caffe" in result.output
    missing = tmp_path / "no" / "such" / "model.onnx"
    assert_input_error(invoke("export", *preset, "--output", missing), "does not exist")
    assert_input_error(
        invoke("export", *preset, "--format", "openvino", "--output", tmp_path / "m.bin"), ".xml"
    )
    assert_input_error(
        invoke("export", *preset, "--reconstruction", "--output", tmp_path / "m.onnx"), "no decoder"
    )
    assert list(tmp_path.iterdir()) == []


def test_export_traces_the_plain_ops(trained_dir, tmp_path, fast_paths, monkeypatch):
    """Even where this process has fast ops registered: the exported graph runs in other
    runtimes, at any batch size, so it holds Keras's own conv, not the Fourier one."""
    from capsnet import fast_ops

    fmt = next(f for f in ("onnx", "tf_saved_model") if BACKEND in EXPORTS_FROM[f])
    pytest.importorskip(RUNTIME[fmt])
    lookup, plain = fast_ops.get, []
    monkeypatch.setattr(
        fast_ops,
        "get",
        lambda name, default: plain.append(lookup(name, None) is None) or lookup(name, default),
    )
    weights, output = trained_dir / "trained_model.keras", tmp_path / f"m{SUFFIX[fmt]}"
    result = invoke("export", "--weights", weights, "--format", fmt, "--output", output)
    assert result.exit_code == 0, result.output
    assert plain and all(plain)
    assert fast_ops.registered() == fast_paths  # and back afterwards
