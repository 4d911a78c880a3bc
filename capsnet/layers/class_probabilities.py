"""Softmax class probabilities: the class scores of a model without capsules."""

import keras
from keras import ops

from capsnet.layers import validation
from capsnet.layers.class_scores import ClassScores


@keras.saving.register_keras_serializable(package="capsnet")
class ClassProbabilities(ClassScores):
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

    def build(self, input_shape):
        validation.rank("ClassProbabilities", input_shape, 2, "(batch, num_classes)")
        self.check_class_names(input_shape[1], "classes")

    def call(self, logits):
        return ops.softmax(ops.cast(logits, "float32"), axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, logits):
        return keras.KerasTensor(logits.shape, dtype="float32")
