"""Capsule lengths: the class scores of a CapsNet."""

import keras

from capsnet.layers import validation
from capsnet.layers.class_scores import ClassScores
from capsnet.layers.safe_norm import safe_norm


@keras.saving.register_keras_serializable(package="capsnet")
class Length(ClassScores):
    """The Euclidean length of each capsule, computed and returned in float32.

    Exact for capsules of any length, however small (no epsilon floor: see
    `safe_norm`); a zero capsule has length 0 and a finite gradient.

    Args:
        class_names: optional names of the classes, in capsule order; kept in
            the saved model so that `predict` and `test` can print them.
        model_family: the registered name of the model family this layer
            ends (`capsnet.models`); kept in the saved model so that a file
            says what it holds.
        digits_per_image: how many objects of different classes each image
            holds (2 for MultiMNIST): a prediction is that many longest
            capsules, and the model reconstructs each.

    Input shape:
        `(batch, num_capsule, dim_capsule)`.

    Output shape:
        `(batch, num_capsule)`, float32.
    """

    def __init__(self, class_names=None, model_family=None, digits_per_image=1, **kwargs):
        super().__init__(class_names, model_family, **kwargs)
        validation.positive_int("digits_per_image", digits_per_image)
        self.digits_per_image = digits_per_image

    def build(self, input_shape):
        validation.rank("Length", input_shape, 3, "(batch, num_capsule, dim_capsule)")
        self.check_class_names(input_shape[1], "capsules")
        if self.digits_per_image >= input_shape[1]:
            raise ValueError(
                f"Length: {self.digits_per_image} digits per image need more than {input_shape[1]} classes"
            )

    def call(self, inputs):
        return safe_norm(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape[:-1]

    def compute_output_spec(self, inputs):
        return keras.KerasTensor(inputs.shape[:-1], dtype="float32")

    def get_config(self):
        config = super().get_config()
        if self.digits_per_image != 1:  # files of one digit per image stay as they were
            config["digits_per_image"] = self.digits_per_image
        return config
