"""The base of the layers that end a model with its class scores."""

import keras


def _possessive(name):
    return f"{name}'" if name.endswith("s") else f"{name}'s"


class ClassScores(keras.layers.Layer):
    """A layer whose output is the model's class scores (`Length`'s capsule
    lengths, `ClassProbabilities`' softmax), with what the commands read beside
    them: the class names and the model's family, both kept in the saved model.

    Args:
        class_names: optional names of the classes, in score order.
        model_family: the registered name of the model family this layer
            ends (`capsnet.models`), so that a file says what it holds.
    """

    def __init__(self, class_names=None, model_family=None, **kwargs):
        super().__init__(**kwargs)
        self.class_names = [str(name) for name in class_names] if class_names is not None else None
        if model_family is not None and not isinstance(model_family, str):
            raise ValueError(
                f"{_possessive(type(self).__name__)} model_family must be a family's name (a str), "
                f"got {model_family!r}"
            )
        self.model_family = model_family

    def check_class_names(self, count, what):
        """Refuse class names that do not number `count` (the `what`: classes, capsules)."""
        if self.class_names is not None and len(self.class_names) != count:
            names = len(self.class_names)
            raise ValueError(f"{type(self).__name__} has {names} class names for {count} {what}")

    def get_config(self):
        config = super().get_config()
        if self.class_names is not None:
            config["class_names"] = self.class_names
        if self.model_family is not None:
            config["model_family"] = self.model_family
        return config
