"""Softmax class probabilities: the class scores of a model without capsules."""

import keras
from keras import ops

from capsnet.layers import validation


@keras.saving.register_keras_serializable(package="capsnet")
class ClassProbabilities(keras.layers.Layer):
    """A softmax over class logits, computed and returned in float32.

    It ends the CNN baseline as `Length` ends a CapsNet: the commands read the
    class scores, the class names and the model's family from this layer.

    Args:
        class_names: optional names of the classes, in logit order; kept in
            the saved model so that `predict` and `test` can print them.
        model_family: the registered name of the model family this layer
            ends (`capsnet.models`); kept in the saved model.

    Input shape:
        `(batch, num_classes)` logits.

    Output shape:
        `(batch, num_classes)`, float32, each row summing to 1.
    """

    # One class per image: a softmax names a single class.
    digits_per_image = 1

    def __init__(self, class_names=None, model_family=None, **kwargs):
        super().__init__(**kwargs)
        self.class_names = [str(name) for name in class_names] if class_names is not None else None
        if model_family is not None and not isinstance(model_family, str):
            raise ValueError(
                f"ClassProbabilities' model_family must be a family's name (a str), got {model_family!r}"
            )
        self.model_family = model_family

    def build(self, input_shape):
        validation.rank("ClassProbabilities", input_shape, 2, "(batch, num_classes)")
        if self.class_names is not None and len(self.class_names) != input_shape[1]:
            raise ValueError(
                f"ClassProbabilities has {len(self.class_names)} class names for {input_shape[1]} classes"
            )

    def call(self, logits):
        return ops.softmax(ops.cast(logits, "float32"), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, logits):
        return keras.KerasTensor(logits.shape, dtype="float32")

    def get_config(self):
        config = super().get_config()
        if self.class_names is not None:
            config["class_names"] = self.class_names
        if self.model_family is not None:
            config["model_family"] = self.model_family
        return config
