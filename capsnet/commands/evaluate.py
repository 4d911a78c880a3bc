"""`capsnet test`, `manipulate` and `predict`: use a trained model."""

from pathlib import Path

import numpy as np

from capsnet import data as datasets
from capsnet import images, inputs, plots
from capsnet.errors import CapsNetInputError
from capsnet.model_files import check_input_shape, load_capsnet

# The seed's latent walk: each dimension offset by -0.25..0.25 in steps of 0.05.
OFFSETS = np.round(np.arange(-0.25, 0.2501, 0.05), 2)


def _model_and_data(weights, dataset, data_path):
    models = load_capsnet(weights)
    data = datasets.load(dataset, data_path)
    check_input_shape(models, data.input_shape, what=f"dataset {data_path or dataset}")
    n_class = models.evaluate.outputs[0].shape[-1]
    inputs.class_labels(data.y_test, f"dataset {data_path or dataset}: y_test", n_class)
    return models, data


def test_model(weights, dataset, data_path, batch_size, save_dir):
    """Accuracy on the test split; writes real_and_recon.png into save_dir."""
    models, data = _model_and_data(weights, dataset, data_path)
    lengths, reconstructions = models.evaluate.predict(data.x_test, batch_size=batch_size, verbose=0)
    accuracy = float(np.mean(np.argmax(lengths, axis=1) == data.y_test))
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    figure = save_dir / "real_and_recon.png"
    plots.real_and_recon(data.x_test[:50], reconstructions[:50], figure)
    return {"accuracy": accuracy, "error": 1 - accuracy, "images": len(data.y_test), "figure": str(figure)}


def manipulate_latent(weights, digit, dataset, data_path, save_dir):
    """Reconstruct one test image of class `digit` with each capsule dimension
    offset in turn; writes manipulate-<digit>.png (dimensions x offsets)."""
    models, data = _model_and_data(weights, dataset, data_path)
    n_class, dim = models.manipulate.inputs[2].shape[1:]
    if digit >= n_class:
        raise CapsNetInputError(f"--digit {digit} is out of range; the model has classes 0..{n_class - 1}")
    found = np.flatnonzero(data.y_test == digit)
    if not len(found):
        raise CapsNetInputError(f"the test set has no image of class {digit}")
    image = data.x_test[found[0]]
    noise = np.zeros((dim, len(OFFSETS), n_class, dim), dtype="float32")
    for d in range(dim):
        noise[d, :, digit, d] = OFFSETS
    noise = noise.reshape(-1, n_class, dim)
    x = np.repeat(image[None], len(noise), axis=0)
    y = np.repeat(datasets.one_hot([digit], n_class), len(noise), axis=0)
    reconstructions = models.manipulate.predict([x, y, noise], verbose=0)
    save_dir = Path(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    figure = save_dir / f"manipulate-{digit}.png"
    plots.image_grid(reconstructions.reshape(dim, len(OFFSETS), *image.shape), figure)
    return str(figure)


def predict_files(weights, paths, invert=False):
    """Class and capsule lengths for every image in the given files."""
    models = load_capsnet(weights)
    input_shape = tuple(models.evaluate.inputs[0].shape[1:])
    results = []
    for path in paths:
        batch = images.load_for_model(path, input_shape, invert)
        lengths, _ = models.evaluate.predict(batch, verbose=0)
        if not np.all(np.isfinite(lengths)):
            raise CapsNetInputError(
                f"{weights} gives non-finite (NaN) capsule lengths for {path}: the model's weights "
                f"are broken; retrain it, or use its best_model.keras or checkpoint.keras"
            )
        for index, row in enumerate(lengths):
            name = str(path) if len(lengths) == 1 else f"{path}[{index}]"
            results.append(
                {"input": name, "class": int(np.argmax(row)), "lengths": [round(float(v), 4) for v in row]}
            )
    return results
