"""The CapsNet losses: margin loss (eq. 4) and the reconstruction term."""

import keras
from keras import ops

from capsnet.paper import DOWN_WEIGHT, LAM_RECON, M_MINUS, M_PLUS  # noqa: F401  (part of this API)


@keras.saving.register_keras_serializable(package="capsnet")
def margin_loss(y_true, y_pred):
    """Margin loss of each example, summed over classes.

    L_k = T_k max(0, m+ - |v_k|)^2 + lambda (1 - T_k) max(0, |v_k| - m-)^2

    Like Keras's own losses it returns one value per example; `compile()`
    averages them over the batch (and scales them correctly across replicas
    under tf.distribute, which a pre-averaged scalar would skip).

    Args:
        y_true: `(batch, num_classes)` one-hot labels T.
        y_pred: `(batch, num_classes)` capsule lengths |v|.

    Returns:
        `(batch,)` float32.
    """
    y_true = ops.cast(y_true, "float32")
    y_pred = ops.cast(y_pred, "float32")
    present = y_true * ops.square(ops.relu(M_PLUS - y_pred))
    absent = DOWN_WEIGHT * (1.0 - y_true) * ops.square(ops.relu(y_pred - M_MINUS))
    return ops.sum(present + absent, axis=-1)


def reconstruction_loss(images, reconstructions, lam_recon=LAM_RECON):
    """`lam_recon` x mean squared error over all pixels and the batch.

    Args:
        images: `(batch, height, width, channels)` targets in [0, 1].
        reconstructions: same shape, the decoder's output.
        lam_recon: weight (0.392 equals the paper's 0.0005 x sum for 28x28).

    Returns:
        Scalar float32.
    """
    error = ops.cast(images, "float32") - ops.cast(reconstructions, "float32")
    return lam_recon * ops.mean(ops.square(error))
