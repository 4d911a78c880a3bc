"""The per-step learning-rate schedules of `capsnet.schedules`, as Keras objects."""

import keras

from capsnet.schedules import AUTHORS_DECAY_STEPS


@keras.saving.register_keras_serializable(package="capsnet")
class FlooredExponentialDecay(keras.optimizers.schedules.LearningRateSchedule):
    """max(lr x decay^(step / decay_steps), min_lr), continuous in the step.

    Args:
        lr: the rate at step 0.
        decay: the multiplier per `decay_steps` steps, in (0, 1].
        decay_steps: steps per multiplication by `decay`, >= 1.
        min_lr: the floor, >= 0.
    """

    def __init__(self, lr, decay, decay_steps, min_lr=0.0):
        if not lr > 0 or not 0 < decay <= 1 or not decay_steps >= 1 or not min_lr >= 0:
            raise ValueError(
                f"FlooredExponentialDecay needs lr > 0, 0 < decay <= 1, decay_steps >= 1 and "
                f"min_lr >= 0; got {lr}, {decay}, {decay_steps}, {min_lr}"
            )
        self.lr, self.decay, self.decay_steps, self.min_lr = lr, decay, decay_steps, min_lr

    def __call__(self, step):
        steps = keras.ops.cast(step, "float32") / self.decay_steps
        decayed = self.lr * keras.ops.power(keras.ops.cast(self.decay, "float32"), steps)
        return keras.ops.maximum(decayed, self.min_lr)

    def get_config(self):
        return {"lr": self.lr, "decay": self.decay, "decay_steps": self.decay_steps, "min_lr": self.min_lr}


def per_step(lr_schedule, lr, lr_decay, lr_decay_steps, min_lr, total_steps):
    """The optimizer's learning rate: a float for `epoch-exponential` (which
    `per_epoch` sets each epoch), else a `LearningRateSchedule` of the step.

    `total_steps`: the steps of the whole run (the cosine's length unless
    `lr_decay_steps` is given).
    """
    if lr_schedule == "epoch-exponential":
        return lr
    if lr_schedule == "step-exponential":
        return FlooredExponentialDecay(lr, lr_decay, lr_decay_steps or AUTHORS_DECAY_STEPS, min_lr)
    # Keras's cosine ends at alpha x lr: the floor as a fraction.
    length = lr_decay_steps or max(total_steps, 1)
    return keras.optimizers.schedules.CosineDecay(lr, length, alpha=min_lr / lr)


class LogLearningRate(keras.callbacks.Callback):
    """Writes the rate the schedule gives after the epoch's last step (the next
    step's) into the epoch's logs: `learning_rate` in log.csv, which
    `LearningRateScheduler` writes for per-epoch schedules."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            schedule = self.model.optimizer.learning_rate
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(schedule))
