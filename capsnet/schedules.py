"""Learning-rate schedules of `capsnet train --lr-schedule`.

- `epoch-exponential`: lr x decay^epoch, set at the start of each epoch, floored
  at `min_lr` (the seed project's recipe: x0.9 per epoch, no floor);
- `step-exponential`: lr x decay^(step / decay_steps), recomputed at every
  step inside the compiled training step, floored at `min_lr`: the authors'
  schedule (tensorflow/models, research/capsules, `models/model.py`:
  continuous exponential decay of 0.96 every 2,000 steps, never below 1e-6);
- `cosine`: half a cosine from lr down to `min_lr` over the whole run (Loshchilov
  & Hutter, 2017, without restarts), also per step.

The per-step schedules are Keras `LearningRateSchedule`s of the optimizer's step
count (`capsnet.step_schedules`), so a resumed run goes on at the step it
stopped at. This module imports no Keras: the command line reads its names before the
backend is chosen.
"""

import math

LR_SCHEDULES = ("epoch-exponential", "step-exponential", "cosine")
DEFAULT_LR_SCHEDULE = "epoch-exponential"
# The authors' decay period, the default of `step-exponential`.
AUTHORS_DECAY_STEPS = 2000


def per_epoch(lr_schedule, lr, lr_decay, min_lr=0.0):
    """epoch -> learning rate for Keras's `LearningRateScheduler`, or None where the
    optimizer's own schedule sets it at every step."""
    if lr_schedule != "epoch-exponential":
        return None
    return lambda epoch: max(lr * lr_decay**epoch, min_lr)


def steps_per_epoch(num_examples, batch_size):
    """The training steps of one epoch (the last batch may be smaller)."""
    return math.ceil(num_examples / batch_size)
