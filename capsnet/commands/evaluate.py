"""`capsnet test`, `manipulate` and `predict`: use a trained model."""

import numpy as np

from capsnet import backends, plots
from capsnet import data as datasets
from capsnet.commands.class_match import check_class_names
from capsnet.commands.progress import reading_images
from capsnet.data import pictures, validation
from capsnet.data.batches import Batches, Examples
from capsnet.errors import CapsNetInputError
from capsnet.model_files import check_input_shape, load_capsnet
from capsnet.models import family_of_model
from capsnet.models.capsule_views import class_names, digits_per_image
from capsnet.save_dir import check_writable

# The seed's latent walk: each dimension offset by -0.25..0.25 in steps of 0.05.
OFFSETS = np.round(np.arange(-0.25, 0.2501, 0.05), 2)


def _model_and_data(config):
    """The model and the test examples (the first `config.subset`, if set)."""
    backends.setup()
    models = load_capsnet(config.weights)
    height, width, channels = models.evaluate.inputs[0].shape[1:]
    folders = config.folder_options()
    folders.update(image_size=config.image_size or (height, width), channels=config.channels or channels)
    data = datasets.load(
        config.dataset,
        config.data,
        folders=folders,
        progress=reading_images,
        generated=config.generated_options(),
    )
    what = f"dataset {config.data or config.dataset}"
    check_input_shape(models, data.input_shape, what=what)
    num_classes = models.evaluate.outputs[0].shape[-1]
    examples = data.test_examples(num_classes)
    if config.subset is not None:
        examples = examples.part(slice(0, config.subset))
    validation.class_labels(examples.labels.ravel(), f"{what}: y_test", num_classes)
    check_class_names(
        class_names(models), data.class_names, num_classes, config.match_classes_by_index, what=what
    )
    if digits_per_image(models.train) != data.digits_per_image:
        raise CapsNetInputError(
            f"{config.weights} names {digits_per_image(models.train)} digit(s) per image but {what} "
            f"has {data.digits_per_image}; test it on data like the data it was trained on"
        )
    return models, examples


def lengths_and_reconstructions(models, x, batch_size=None):
    """The class capsules' lengths `(n, num_classes)` and the reconstructions
    (float32 `(n, height, width, channels)`; None for a model without a decoder;
    for two digits per image, `(n, 2, height, width, channels)`, from the
    longest and the second longest capsule).

    `x`: uint8 or float32 images `(n, height, width, channels)`, scaled a batch
    at a time, or `Examples` of them (`inputs_only()`).
    """
    examples = x if hasattr(x, "inputs_only") else Examples(x)
    outputs = models.evaluate.predict(Batches(examples, batch_size or 32), verbose=0)
    if models.manipulate is None:  # no decoder: the lengths are the only output
        return outputs, None
    if len(outputs) == 2:
        return outputs[0], outputs[1]
    return outputs[0], np.stack(outputs[1:], axis=1)


def test_model(config):
    """Accuracy on the test split (an `EvaluateConfig`); writes real_and_recon.png
    when the model has a decoder ("figure" is None otherwise). For MultiMNIST
    pairs, see `pair_results`."""
    models, examples = _model_and_data(config)
    lengths, reconstructions = lengths_and_reconstructions(models, examples.inputs_only(), config.batch_size)
    if examples.labels.ndim == 2:
        return pair_results(examples, lengths, reconstructions, config.save_dir, class_names(models))
    labels = examples.labels
    predicted = np.argmax(lengths, axis=1)
    accuracy = float(np.mean(predicted == labels))
    figure = None
    if reconstructions is not None:
        figure = check_writable(config.save_dir) / "real_and_recon.png"
        shown = plots.one_per_class_in_turn(labels, 50)
        names = class_names(models) or [str(k) for k in range(lengths.shape[1])]
        plots.real_and_recon(
            examples.inputs_only()[shown][0],
            reconstructions[shown],
            figure,
            captions=[f"{names[labels[i]]} -> {names[predicted[i]]}" for i in shown],
            wrong=predicted[shown] != labels[shown],
        )
    return {
        "accuracy": accuracy,
        "error": 1 - accuracy,
        "images": len(labels),
        "figure": figure and str(figure),
        "per_class": per_class(predicted, labels, class_names(models)),
    }


def pair_results(examples, lengths, reconstructions, save_dir, names=None):
    """The authors' MultiMNIST scores: a pair is right only when its two longest
    capsules are exactly its two classes ("accuracy"); "one_right" is the share
    with at least one of them. Writes the paper's Figure 5 (multimnist.png) when
    the model has a decoder. "per_class": how often each class, where present,
    is among the two longest."""
    labels = examples.labels
    found = found_classes(lengths, labels)
    accuracy = float(np.mean(found == labels.shape[1]))
    figure = None
    if reconstructions is not None:
        figure = check_writable(save_dir) / "multimnist.png"
        right = np.flatnonzero(found == labels.shape[1])[:8]
        wrong = np.flatnonzero(found < labels.shape[1])[:8]
        shown = np.concatenate([right, wrong])
        plots.pair_reconstructions(
            examples.inputs_only()[shown][0],
            reconstructions[shown],
            figure,
            captions=[_pair_caption(labels[i], lengths[i], names) for i in shown],
            right=len(right),
        )
    top = longest(lengths, labels.shape[1])
    return {
        "accuracy": accuracy,
        "error": 1 - accuracy,
        "one_right": float(np.mean(found >= 1)),
        "images": len(labels),
        "figure": figure and str(figure),
        "per_class": per_class_of_pairs(top, labels, names),
    }


def longest(lengths, k):
    """The indices of the `k` longest capsules, longest first: `(..., k)`."""
    return np.argsort(-lengths, axis=-1, kind="stable")[..., :k]


def found_classes(lengths, labels):
    """How many of each image's true classes `labels` `(n, k)` are among its `k` longest capsules."""
    top = longest(lengths, labels.shape[1])
    return (top[:, :, None] == labels[:, None, :]).any(axis=1).sum(axis=1)


def per_class_of_pairs(top, labels, names=None):
    """`per_class` rows for images of one or several digits: of the images holding
    class c ("images"), those whose longest capsules `top` `(n, k)` include c ("correct")."""
    rows = []
    for label in np.unique(labels):
        holding = (labels == label).any(axis=1)
        correct = int(np.sum((top[holding] == label).any(axis=1)))
        rows.append(
            {
                "class": int(label),
                "name": names[label] if names else str(label),
                "images": int(holding.sum()),
                "correct": correct,
                "accuracy": correct / int(holding.sum()),
            }
        )
    return rows


def _pair_caption(labels, lengths, names):
    def name(c):
        return names[c] if names else str(c)

    top = longest(lengths, len(labels))
    return f"{'+'.join(name(c) for c in labels)} -> {'+'.join(name(c) for c in top)}"


def per_class(predicted, labels, names=None):
    """[{"class", "name", "images", "correct", "accuracy"}] for each class present in `labels`."""
    return per_class_of_pairs(predicted[:, None], labels[:, None], names)


def manipulate_latent(config):
    """Reconstruct one test image of class `config.digit` with each capsule
    dimension offset in turn; writes manipulate-<digit>.png (dimensions x offsets)."""
    digit = config.digit
    models, examples = _model_and_data(config)
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
    found = np.flatnonzero((examples.labels.reshape(len(examples), -1) == digit).any(axis=1))
    if not len(found):
        raise CapsNetInputError(f"the test set has no image of class {digit}")
    image = examples.inputs_only()[found[:1]][0][0]
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


# Images read and classified at a time by `predict_files`: a folder of any size
# holds one batch in memory (and its results, streamed out as they come).
PREDICT_BATCH = 100


def predict_files(config, batch_size=None):
    """Class and class scores (capsule lengths, or the CNN baseline's
    probabilities, under the family's `scores` key) for every image in `config.inputs` (a
    `PredictConfig`: image files, .npy arrays and folders of them), yielded
    image by image in the inputs' order, `batch_size` images (`PREDICT_BATCH`
    when None) classified at a time."""
    weights, invert = config.weights, config.invert
    batch_size = batch_size or PREDICT_BATCH
    files = list(pictures.image_files(config.inputs))  # a folder without images fails before the model loads
    backends.setup()
    models = load_capsnet(weights)
    names = class_names(models)
    per_image = (digits_per_image(models.train), family_of_model(models.train).scores)
    input_shape = tuple(models.evaluate.inputs[0].shape[1:])
    pending = []  # (path, its images (n, height, width, channels))
    for path in files:
        pending.append((path, pictures.load_for_model(path, input_shape, invert)))
        if sum(len(images) for _, images in pending) >= batch_size:
            yield from _classified(models, pending, names, per_image, weights)
            pending = []
    yield from _classified(models, pending, names, per_image, weights)


def _classified(models, files, names, per_image, weights):
    """`predict_files`' results for `files` ([(path, images)]), in one prediction;
    `per_image`: (digits per image, the name of the class scores)."""
    if not files:
        return
    lengths, _ = lengths_and_reconstructions(models, np.concatenate([images for _, images in files]))
    start = 0
    for path, images in files:
        rows, start = lengths[start : start + len(images)], start + len(images)
        if not np.all(np.isfinite(rows)):
            raise CapsNetInputError(
                f"{weights} gives non-finite (NaN) class scores for {path}: the model's weights "
                f"are broken; retrain it, or use its best_model.keras or checkpoint.keras"
            )
        for index, row in enumerate(rows):
            yield _result(f"{path}" if len(rows) == 1 else f"{path}[{index}]", row, names, per_image)


def _result(name, row, names, per_image):
    digits, scores_key = per_image
    label = int(np.argmax(row))
    scores = [round(float(v), 4) for v in row]
    result = {"input": name, "class": label, scores_key: scores}
    if names:
        result["class_name"] = names[label]
    if digits > 1:  # the longest capsules, longest first
        result["classes"] = [int(c) for c in longest(row, digits)]
    # Each score under its class's name (the class index where the model has no names).
    keys = names or [str(i) for i in range(len(row))]
    result[f"{scores_key}_by_class"] = dict(zip(keys, scores, strict=True))
    return result
