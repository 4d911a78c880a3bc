"""Our layers never make a device tensor out of a Python number inside a step.

On a CUDA device, PyTorch copies such a number from host memory and waits for
the GPU to finish everything queued before it: the host and the GPU then take
turns instead of overlapping. (JAX and TensorFlow fold constants into their
compiled graphs; this is about eager torch.) Keras turns a Python number given
to `ops.where`, `ops.full`, ... into a tensor; Python operators on tensors
(`x * 0.5`, `1.0 + x`) pass it to the kernel as an argument instead.
"""

import traceback
from pathlib import Path

import keras
import numpy as np
import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "torch", reason="eager torch only"),
]

PACKAGE = str(Path(__file__).resolve().parents[2] / "capsnet")
MAKERS = {"as_tensor", "tensor", "full", "scalar_tensor"}


def _tensors_from_numbers(run):
    """The capsnet source lines that made a tensor from a Python number while `run()` ran."""
    import torch
    from torch.overrides import TorchFunctionMode

    found = []

    class Spy(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            number = bool(args) and isinstance(args[0], (int, float)) and not isinstance(args[0], bool)
            if getattr(func, "__name__", "") in MAKERS and (number or func is torch.full):
                ours = [f for f in traceback.extract_stack() if f.filename.startswith(PACKAGE)]
                if ours:
                    found.append(f"{Path(ours[-1].filename).name}:{ours[-1].lineno}")
            return func(*args, **(kwargs or {}))

    with Spy():
        run()
    return found


def test_a_capsnet_training_step_makes_no_tensor_from_a_python_number():
    from capsnet.models.capsnet.model import build_capsnet
    from capsnet.training import compile_for_training, inputs_and_targets

    models = build_capsnet(conv_filters=8, num_primary_channels=2, seed=1)
    compile_for_training(models.train)
    rng = np.random.default_rng(0)
    (x, y), _ = inputs_and_targets(rng.random((2, 28, 28, 1)).astype("float32"), np.array([1, 2]), 10)
    models.train.train_on_batch([x, y], [y, x])  # builds the optimizer outside the spy
    assert _tensors_from_numbers(lambda: models.train.train_on_batch([x, y], [y, x])) == []
    models.evaluate.predict_on_batch(x)
    assert _tensors_from_numbers(lambda: models.evaluate.predict_on_batch(x)) == []


def test_efficient_squash_and_its_gradient_make_no_tensor_from_a_python_number():
    import torch

    from capsnet.layers.squash import efficient_squash

    s = torch.tensor(
        np.random.default_rng(0).normal(size=(4, 8, 16)), dtype=torch.float32, requires_grad=True
    )

    def run():
        efficient_squash(s).sum().backward()

    assert _tensors_from_numbers(run) == []
