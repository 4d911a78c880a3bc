"""Checks of backends/torch_ddp.py that need several processes.

Run by tests/training/test_torch_ddp.py as `torchrun --nproc-per-node 2 tests/torch_ddp_worker.py`;
every process runs every check and exits non-zero when one fails.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch.distributed as dist  # noqa: E402

from capsnet.backends import torch_ddp  # noqa: E402
from capsnet.data.batches import Examples  # noqa: E402
from capsnet.models.capsnet.model import build_capsnet  # noqa: E402
from capsnet.training import compile_for_training  # noqa: E402

group = torch_ddp.TorchProcessGroup()
assert group.replicas == 2 and group.chief == (group.rank == 0) and group.engine == "gloo"


def everyone(value):
    """`value` from every process, in rank order."""
    values = [None] * group.replicas
    dist.all_gather_object(values, value)
    return values


# Shards: 13 examples in global batches of 4, so 2 per process and step. Each epoch
# the shards cover every example (the sampler repeats one to make 14), the processes
# agree on one permutation, and the next epoch has another.
x = np.arange(13, dtype="float32").reshape(13, 1, 1, 1)
labels = np.arange(13) % 3
examples = Examples(x, labels, num_classes=3)
arguments = group.fit_arguments(examples, examples, batch_size=4, seed=7 + group.rank, initial_epoch=0)
reshuffle = arguments["callbacks"][0]
epochs = []
for epoch in (0, 1):
    reshuffle.on_epoch_begin(epoch)
    batches = list(arguments["x"])
    assert [len(inputs[0]) for inputs, _ in batches] == [2, 2, 2, 1], batches
    for (images, one_hot), (target_labels, target_images) in batches:
        assert np.array_equal(target_images, images) and np.array_equal(target_labels, one_hot)
        assert np.array_equal(one_hot.numpy().argmax(-1), images.numpy().ravel() % 3)
    mine = np.concatenate([inputs[0].numpy().ravel() for inputs, _ in batches])
    shards = everyone(mine.tolist())
    assert sorted(set(shards[0] + shards[1])) == list(range(13)), shards
    assert len(shards[0]) == len(shards[1]) == 7
    epochs.append(shards)
assert epochs[0] != epochs[1], "not reshuffled"
validation_batches = arguments["validation_data"]
assert validation_batches.batch_size == 2
mine = [float(v) for index in range(len(validation_batches)) for v in validation_batches[index][0][0].ravel()]
validation = everyone(mine)
assert sorted(validation[0] + validation[1]) == list(range(13)), validation

# prepare(): the chief's weights everywhere, a shift seed per process.
keras.utils.set_random_seed(100 + group.rank)  # different initial weights in each process
models = build_capsnet(routings=1, shift_pixels=2, seed=0)  # the same shift seed in each
compile_for_training(models.train)
before = everyone(keras.ops.convert_to_numpy(models.train.trainable_weights[0]))
assert not np.array_equal(before[0], before[1])
group.prepare(models.train)
for variable in models.train.trainable_weights:
    values = everyone(keras.ops.convert_to_numpy(variable))
    assert np.array_equal(values[0], values[1]), variable.path
assert np.array_equal(before[0], keras.ops.convert_to_numpy(models.train.trainable_weights[0]))
images = np.random.default_rng(0).random((16, 28, 28, 1), dtype="float32")
shifted = everyone(keras.ops.convert_to_numpy(models.train.get_layer("random_shift")(images, training=True)))
assert not np.array_equal(shifted[0], shifted[1]), "the same shifts in both processes"

# Averaged gradients: each process's own gradient in, the mean out.
grads = [keras.ops.convert_to_tensor(np.full((2, 3), float(group.rank + 1)))]
averaged = keras.ops.convert_to_numpy(group._average(grads)[0])
assert np.allclose(averaged, 1.5), averaged

# agree(): a flag set in one process is set in all.
assert group.agree(group.rank == 1) == (True,)
assert group.agree(False, group.rank == 0) == (False, True)

# Epoch logs: weighted by each process's examples (validation: 1 and 2 images).
logs = {"loss": float(group.rank), "val_loss": float(group.rank)}
torch_ddp._AverageLogs(group, train_examples=10, val_examples=group.rank + 1).on_epoch_end(0, logs)
assert np.isclose(logs["loss"], 0.5) and np.isclose(logs["val_loss"], 2 / 3), logs

group.close()
print(f"rank {group.rank}: ok")
