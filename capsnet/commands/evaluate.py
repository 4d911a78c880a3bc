"""`capsnet test`, `manipulate` and `predict`: use a trained model."""

import numpy as np

from capsnet import backends, plots
from capsnet import data as datasets
from capsnet.commands.progress import reading_images
from capsnet.data import pictures, validation
from capsnet.data.batches import Batches, Examples, as_float
from capsnet.errors import CapsNetInputError
from capsnet.model_files import check_input_shape, load_capsnet
from capsnet.models.capsule_views import class_names
from capsnet.save_dir import check_writable

# The seed's latent walk: each dimension offset by -0.25..0.25 in steps of 0.05.
OFFSETS = np.round(np.arange(-0.25, 0.2501, 0.05), 2)


def _model_and_data(config):
    """The model and the test split (its first `config.subset` images, if set)."""
    backends.setup()
    models = load_capsnet(config.weights)
    height, width, channels = models.evaluate.inputs[0].shape[1:]
    folders = config.folder_options()
    folders.update(image_size=config.image_size or (height, width), channels=config.channels or channels)
    data = datasets.load(config.dataset, config.data, folders=folders, progress=reading_images)
    if config.subset is not None:
        data = data._replace(x_test=data.x_test[: config.subset], y_test=data.y_test[: config.subset])
    what = f"dataset {config.data or config.dataset}"
    check_input_shape(models, data.input_shape, what=what)
    num_classes = models.evaluate.outputs[0].shape[-1]
    validation.class_labels(data.y_test, f"{what}: y_test", num_classes)
    return models, data


def lengths_and_reconstructions(models, x, batch_size=None):
    """The class capsules' lengths `(n, num_classes)` and the reconstructions
    (float32 `(n, height, width, channels)`; None for a model without a decoder).

    `x`: uint8 or float32 images `(n, height, width, channels)`, scaled a batch at a time.
    """
    outputs = models.evaluate.predict(Batches(Examples(x), batch_size or 32), verbose=0)
    if models.manipulate is None:  # no decoder: the lengths are the only output
        return outputs, None
    return outputs[0], outputs[1]


def test_model(config):
    """Accuracy on the test split (an `EvaluateConfig`); writes real_and_recon.png
    when the model has a decoder ("figure" is None otherwise)."""
    models, data = _model_and_data(config)
    lengths, reconstructions = lengths_and_reconstructions(models, data.x_test, config.batch_size)
    predicted = np.argmax(lengths, axis=1)
    accuracy = float(np.mean(predicted == data.y_test))
    figure = None
    if reconstructions is not None:
        figure = check_writable(config.save_dir) / "real_and_recon.png"
        plots.real_and_recon(as_float(data.x_test[:50]), reconstructions[:50], figure)
    return {
        "accuracy": accuracy,
        "error": 1 - accuracy,
        "images": len(data.y_test),
        "figure": figure and str(figure),
        "per_class": per_class(predicted, data.y_test, class_names(models)),
    }


def per_class(predicted, labels, names=None):
    """[{"class", "name", "images", "correct", "accuracy"}] for each class present in `labels`."""
    rows = []
    for label in np.unique(labels):
        mine = labels == label
        correct = int(np.sum(predicted[mine] == label))
        rows.append(
            {
                "class": int(label),
                "name": names[label] if names else str(label),
                "images": int(mine.sum()),
                "correct": correct,
                "accuracy": correct / int(mine.sum()),
            }
        )
    return rows


def manipulate_latent(config):
    """Reconstruct one test image of class `config.digit` with each capsule
    dimension offset in turn; writes manipulate-<digit>.png (dimensions x offsets)."""
    digit = config.digit
    models, data = _model_and_data(config)
    if models.manipulate is None:
        raise CapsNetInputError(
            f"{config.weights} has no decoder, so its capsules cannot be drawn; "
            f"use a model trained by `capsnet train` (it keeps the decoder)"
        )
    num_classes, dim = models.manipulate.inputs[2].shape[1:]
    if digit >= num_classes:
        raise CapsNetInputError(
            f"--digit {digit} is out of range; the model has classes 0..{num_classes - 1}"
        )
    found = np.flatnonzero(data.y_test == digit)
    if not len(found):
        raise CapsNetInputError(f"the test set has no image of class {digit}")
    image = as_float(data.x_test[found[0]])
    noise = np.zeros((dim, len(OFFSETS), num_classes, dim), dtype="float32")
    for d in range(dim):
        noise[d, :, digit, d] = OFFSETS
    noise = noise.reshape(-1, num_classes, dim)
    x = np.repeat(image[None], len(noise), axis=0)
    y = np.repeat(datasets.one_hot([digit], num_classes), len(noise), axis=0)
    reconstructions = models.manipulate.predict([x, y, noise], verbose=0)
    save_dir = check_writable(config.save_dir)
    figure = save_dir / f"manipulate-{digit}.png"
    plots.image_grid(reconstructions.reshape(dim, len(OFFSETS), *image.shape), figure)
    return str(figure)


def predict_files(config):
    """Class and capsule lengths for every image in `config.inputs` (a `PredictConfig`)."""
    weights, paths, invert = config.weights, config.inputs, config.invert
    backends.setup()
    models = load_capsnet(weights)
    names = class_names(models)
    input_shape = tuple(models.evaluate.inputs[0].shape[1:])
    results = []
    for path in paths:
        batch = pictures.load_for_model(path, input_shape, invert)
        lengths, _ = lengths_and_reconstructions(models, batch)
        if not np.all(np.isfinite(lengths)):
            raise CapsNetInputError(
                f"{weights} gives non-finite (NaN) capsule lengths for {path}: the model's weights "
                f"are broken; retrain it, or use its best_model.keras or checkpoint.keras"
            )
        for index, row in enumerate(lengths):
            name = str(path) if len(lengths) == 1 else f"{path}[{index}]"
            label = int(np.argmax(row))
            lengths = [round(float(v), 4) for v in row]
            result = {"input": name, "class": label, "lengths": lengths}
            if names:
                result["class_name"] = names[label]
            # Each length under its class's name (the class index where the model has no names).
            keys = names or [str(i) for i in range(len(row))]
            result["lengths_by_class"] = dict(zip(keys, lengths, strict=True))
            results.append(result)
    return results
