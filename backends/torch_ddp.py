"""Data parallel on the torch backend: one process per replica, started by torchrun.

torchrun (`python -m torch.distributed.run`) starts `--nproc-per-node` processes
on each of `--nnodes` hosts and tells each its place (RANK, WORLD_SIZE,
LOCAL_RANK, MASTER_ADDR, MASTER_PORT). Every process holds a whole replica and
trains it with Keras's own `fit()`, so progress, callbacks, checkpoints and
`--resume` are those of a single-process run. This module makes the replicas
one model (`capsnet.backends.plugin.ProcessGroup`):

- the group: `torch.distributed` over NCCL (one GPU per process) or gloo (CPUs);
- one start: the chief's (rank 0's) weights and optimizer state go to every process;
- one shard each: the order of `DistributedSampler` (one permutation per epoch,
  the same in every process; process r takes every N-th example from the r-th),
  `batch_size / N` examples per process and step;
- one gradient: all of a step's gradients are summed over the group in one
  all-reduce and divided by N before Adam applies them. This is what
  `DistributedDataParallel` does; DDP itself needs its own `forward()` to be
  the call that computes the loss, and Keras's `fit()` calls the Keras model;
- different augmentation: each process's random-shift seeds are offset by its rank;
- one report: each epoch's logs are averaged over the group (weighted by
  examples), so the chief prints and logs the global loss and accuracy;
  the validation images are split over the processes too.
"""

import itertools
import os

import keras
import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler

from capsnet.data.batches import Batches
from capsnet.exact_resume import SEED_STATE_NAME

# Rank r's random seeds start r * SEED_STRIDE after rank 0's. Keras's torch seeds are
# 32-bit (seed + a counter that grows by 1 per draw), so the streams of 256 processes
# stay apart for 2**24 draws each (two draws per training step).
SEED_STRIDE = 2**24


def launched():
    """Whether torchrun (or another torch.distributed launcher) started this process."""
    return all(name in os.environ for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"))


class TorchProcessGroup:
    """This process's place among those torchrun started; see the module docstring."""

    def __init__(self):
        from capsnet.backends import BackendError

        local_rank = int(os.environ.get("LOCAL_RANK", 0))
        if torch.cuda.is_available():
            if local_rank >= torch.cuda.device_count():
                raise BackendError(
                    f"torchrun started local process {local_rank} but this host has "
                    f"{torch.cuda.device_count()} GPU(s); use --nproc-per-node {torch.cuda.device_count()}"
                )
            # Keras puts tensors on "cuda", the current device: one GPU per process.
            torch.cuda.set_device(local_rank)
            self.device = torch.device("cuda", local_rank)
            engine = "nccl"
        else:
            self.device = torch.device("cpu")
            engine = "gloo"
        dist.init_process_group(engine)
        self.engine = engine
        self.rank = dist.get_rank()
        self.replicas = dist.get_world_size()
        self.chief = self.rank == 0

    def prepare(self, train_model):
        """The chief's state everywhere, per-rank seeds, averaged gradients."""
        optimizer = train_model.optimizer
        variables = list(train_model.variables)
        if optimizer.built:  # a resumed run: Adam's moments and step (a new Adam is zeros everywhere)
            variables += list(optimizer.variables)
        with torch.no_grad():
            for variable in variables:
                dist.broadcast(variable.value.data, src=0)
        for variable in train_model.variables:
            if variable.name == SEED_STATE_NAME:
                state = keras.ops.convert_to_numpy(variable).astype(np.int64)
                state[0] = (state[0] + self.rank * SEED_STRIDE) % 2**32
                variable.assign(state.astype(np.uint32).view(np.int32))
        apply = optimizer.apply

        def apply_averaged(grads, trainable_variables=None):
            return apply(self._average(grads), trainable_variables)

        optimizer.apply = apply_averaged

    def _average(self, grads):
        """The mean of each gradient over the group, in one all-reduce."""
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat.div_(self.replicas)
        pieces = flat.split([g.numel() for g in grads])
        return [piece.view_as(g) for piece, g in zip(pieces, grads, strict=True)]

    def fit_arguments(self, train, validation, batch_size, seed, initial_epoch, skip_batches=0):
        """This process's shards of `train` and `validation` (`capsnet.data.batches.Examples`;
        see the module docstring)."""
        local = batch_size // self.replicas
        sampler = DistributedSampler(
            train, num_replicas=self.replicas, rank=self.rank, shuffle=True, seed=self._chief_seed(seed)
        )
        sampler.set_epoch(initial_epoch)
        # The sampler's indices in batches; `Examples` cuts each batch out in one step.
        batches = _SkipFirst(BatchSampler(sampler, local, drop_last=False), skip_batches)
        loader = DataLoader(train, sampler=batches, batch_size=None)
        validation_part = validation.part(slice(self.rank, None, self.replicas))
        if not len(validation_part):
            from capsnet.backends import BackendError

            raise BackendError(
                f"{len(validation)} test image(s) do not give each of {self.replicas} processes one; "
                f"use more test images or fewer processes"
            )
        return {
            "x": loader,
            "shuffle": False,  # the sampler shuffles
            "validation_data": Batches(validation_part, local),
            "callbacks": [
                _ReshuffleEachEpoch(sampler),
                _AverageLogs(self, train_examples=len(sampler), val_examples=len(validation_part)),
            ],
        }

    def _chief_seed(self, seed):
        """The chief's `seed` in every process."""
        return int(self.sum([seed if self.chief else 0])[0])

    def sum(self, values):
        """Each of `values` summed over the group (float64)."""
        total = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return total.tolist()

    def agree(self, *flags):
        return tuple(total > 0 for total in self.sum([float(flag) for flag in flags]))

    def close(self):
        if dist.is_initialized():
            dist.destroy_process_group()


class _SkipFirst:
    """A batch sampler without its first `skip` batches (a resumed epoch, which
    `capsnet.training.fit` trains in a fit() of its own)."""

    def __init__(self, batches, skip):
        self.batches, self.skip = batches, skip

    def __iter__(self):
        return itertools.islice(iter(self.batches), self.skip, None)

    def __len__(self):
        return len(self.batches) - self.skip


class _ReshuffleEachEpoch(keras.callbacks.Callback):
    """A new permutation each epoch, a function of (seed, epoch): a resumed run continues it."""

    def __init__(self, sampler):
        super().__init__()
        self.sampler = sampler

    def on_epoch_begin(self, epoch, logs=None):
        self.sampler.set_epoch(epoch)


class _AverageLogs(keras.callbacks.Callback):
    """Each epoch's logs averaged over the group, in place, before the callbacks after it read them.

    Keras averages the loss and the metrics over examples, so the mean over the
    group weighted by each process's examples is the mean over all of them.
    """

    def __init__(self, group, train_examples, val_examples):
        super().__init__()
        self.group = group
        self.weights = {"train": train_examples, "val": val_examples}

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        names = sorted(name for name, value in logs.items() if isinstance(value, (int, float)))
        kinds = ["val" if name.startswith("val_") else "train" for name in names]
        sums = self.group.sum(
            [logs[name] * self.weights[kind] for name, kind in zip(names, kinds, strict=True)]
            + [self.weights["train"], self.weights["val"]]
        )
        totals = {"train": sums[-2], "val": sums[-1]}
        for name, kind, total in zip(names, kinds, sums[:-2], strict=True):
            logs[name] = total / totals[kind]
