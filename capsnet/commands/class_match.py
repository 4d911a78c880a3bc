"""When a trained model meets a dataset: are its classes the dataset's classes?"""

from capsnet.errors import CapsNetInputError

BY_INDEX = "--match-classes-by-index"


def check_class_names(model_names, data_names, num_classes, by_index=False, what="the data"):
    """Refuse a dataset whose class names differ from the model's.

    Args:
        model_names: the names saved with the model, or None (its classes are
            then 0..num_classes-1, as for MNIST).
        data_names: the dataset's names (class folders), or None: a dataset
            without names has integer labels, read as the model's class indices.
        num_classes: the model's number of classes.
        by_index: the user said label k is class k, whatever the names.
    """
    if data_names is None or by_index:
        return
    model_names = list(model_names) if model_names else [str(k) for k in range(num_classes)]
    data_names = list(data_names)
    if data_names == model_names[: len(data_names)]:
        return
    raise CapsNetInputError(
        f"the model's classes are {_listed(model_names)} but {what}'s are {_listed(data_names)}; use data "
        f"of the model's classes (folders named as they are), train a new model, or pass {BY_INDEX} "
        f"to take the data's class k as the model's class k"
    )


def _listed(names, shown=6):
    more = f", ... ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
