"""Adds the reconstruction term to the model's loss."""

import keras

from capsnet import losses


@keras.saving.register_keras_serializable(package="capsnet")
class ReconstructionLoss(keras.layers.Layer):
    """Pass the reconstruction through and add `lam_recon x MSE` as a loss.

    The target is the image the network actually saw: with augmentation
    inside the model, that is the shifted image, which the data pipeline never
    sees, so the term cannot be a loss on `y_true`.

    Args:
        lam_recon: weight of the mean squared error (0.392).

    Input shape:
        `[images, reconstructions]`, both `(batch, height, width, channels)`.

    Output shape:
        The reconstructions, unchanged.
    """

    def __init__(self, lam_recon=losses.LAM_RECON, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(lam_recon, (int, float)) or lam_recon < 0:
            raise ValueError(f"`lam_recon` must be a number >= 0, got lam_recon={lam_recon!r}")
        self.lam_recon = float(lam_recon)

    def call(self, inputs):
        images, reconstructions = inputs
        if self.lam_recon:
            self.add_loss(losses.reconstruction_loss(images, reconstructions, self.lam_recon))
        return reconstructions

    def compute_output_shape(self, input_shape):
        return input_shape[1]

    def get_config(self):
        return {**super().get_config(), "lam_recon": self.lam_recon}
