"""`capsnet bench`: per-backend training and evaluation speed.

The parent process runs one worker subprocess per backend (Keras fixes its
backend at import) and gathers their JSON results into a table, bench.json
and bench.png.
"""

import json
import resource
import statistics
import sys
import time

import numpy as np

from capsnet import backends, flops, plots
from capsnet import data as datasets
from capsnet import models as families
from capsnet.atomic import atomic_write
from capsnet.fresh_process import run_on_backend
from capsnet.save_dir import check_writable

MNIST_EPOCH = 60_000
PEAK_DTYPES = ("float32", "bfloat16")
# The dtype of the products under each --precision: its matmul peak is the ceiling.
COMPUTE_DTYPE = {"float32": "float32", "fast": "float32", "mixed_bfloat16": "bfloat16"}


# The worker's progress lines on stderr start with this; the parent echoes them.
PROGRESS = "bench-worker: "


_STARTED = time.perf_counter()


def progress(message):
    """One progress line on stderr, with the seconds since the worker started."""
    print(f"{PROGRESS}[{time.perf_counter() - _STARTED:5.1f}s] {message}", file=sys.stderr, flush=True)


def worker(config):
    """Set the active backend up as `config` says, measure, and describe the run."""
    plugin = backends.setup(config.precision, fast_paths=config.fast_paths)
    progress(f"{config.precision}, batch {config.batch_size}: measuring the matmul peak")
    # float32's peak, and the precision's own when it computes in another dtype: a
    # bfloat16 product without CPU support for it takes minutes at 2048x2048.
    dtypes = dict.fromkeys(("float32", COMPUTE_DTYPE.get(config.precision, "float32")))
    size = config.matmul_size
    matmul = {dtype: round(flops.matmul_peak(dtype, size, sync=plugin.sync), 1) for dtype in dtypes}
    progress("building and compiling the model")
    result = measure(plugin, config)
    result["matmul_gflops"] = matmul
    env = backends.environment(plugin, config.precision)
    result.update(
        precision=config.precision,
        jit="auto" if config.jit is None else config.jit,
        model=config.model,
        batch_size=config.batch_size,
        routings=config.routings if families.get_family(config.model).accepts("routings") else None,
        fast_paths=env["fast_paths"],
        versions=env["versions"],
        devices=env["devices"],
        machine=env["machine"],
    )
    return result


def architecture_options(family, config):
    """The options of `config` that shape the model and that `family` takes
    (the others are left out; None lets the builder choose by image size)."""
    names = ("class_capsules", "stem_blocks", "decoder_type")
    return {name: getattr(config, name) for name in names if family.accepts(name)}


def random_images(image_size, channels, num_classes, count=256, seed=0):
    """A `Dataset` of `count` random uint8 images `(count, height, width, channels)`
    and labels covering `num_classes`, for timing models at sizes no bundled
    data has (speed and memory do not depend on the pixels)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(count, *image_size, channels), dtype=np.uint8)
    y = np.arange(count, dtype=np.int64) % num_classes
    return datasets.Dataset(x, y, x[:num_classes], y[:num_classes])


def training_step(model="capsnet", batch_size=100, routings=3, jit="auto", data=None, config=None):
    """The model bench times, compiled, and one fixed batch of `data` (default:
    the bundled sample; random images where `config.image_size` is set).
    Returns (the dataset, models, x, train_step), where `train_step()` runs one
    training step on that batch and waits for its loss."""
    import keras

    from capsnet.training import compile_for_training, inputs_and_targets

    if config is not None and config.image_size:
        classes = config.num_classes
        sample = random_images(config.image_size, config.channels, classes)
    else:
        sample, classes = datasets.load("sample", data), 10
    family = families.get_family(model)
    options = {"routings": routings} if family.accepts("routings") else {}
    if config is not None:
        options.update(architecture_options(family, config))
    models = family.build(sample.input_shape, classes, **options)
    compile_for_training(models.train, jit_compile=jit)
    index = np.arange(batch_size) % len(sample.x_train)
    inputs, targets = inputs_and_targets(sample.x_train[index], sample.y_train[index], classes, models.train)
    x = inputs[0] if isinstance(inputs, tuple) else inputs  # a capsule model also takes the labels
    inputs, targets = _as_lists(inputs), _as_lists(targets)

    def train_step():
        keras.ops.convert_to_numpy(models.train.train_on_batch(inputs, targets)[0])

    return sample, models, x, train_step


def _as_lists(arrays):
    """Several model inputs (or targets) as the list Keras takes; one array as it is."""
    return list(arrays) if isinstance(arrays, tuple) else arrays


def measure(plugin, config):
    """Time training and evaluation steps on the active backend (a `BenchConfig`); returns a dict."""
    import keras

    from capsnet.data import device_examples
    from capsnet.data.batches import Batches, Examples
    from capsnet.epoch_timer import EpochTimer
    from capsnet.training import examples_for

    batch_size, steps, warmup = config.batch_size, config.steps, config.warmup
    jit = "auto" if config.jit is None else config.jit
    epoch_images = config.images
    sample, models, x, train_step = training_step(
        config.model, batch_size, config.routings, jit, config.data, config
    )
    classes = models.train.get_layer("digitcaps") if _has_layer(models.train, "digitcaps") else None
    models.evaluate.compile(jit_compile=jit)

    def timed(step):
        plugin.sync()
        start = time.perf_counter()
        step()
        plugin.sync()
        return time.perf_counter() - start

    def eval_step():
        keras.ops.convert_to_numpy(models.evaluate.predict_on_batch(x)[0])

    warm_train = sum(timed(train_step) for _ in range(warmup))
    progress(f"training warmed up in {warm_train:.1f} s (compilation included)")
    train_times = [timed(train_step) for _ in range(steps)]
    warm_eval = sum(timed(eval_step) for _ in range(warmup))
    eval_times = [timed(eval_step) for _ in range(steps)]
    progress(f"{steps} training and {steps} evaluation steps timed")
    train_rate = batch_size / statistics.median(train_times)
    # What the ops run, against the peak: the Fourier conv computes about a third of the paper's count.
    computed = flops.training_flops(models.train, as_computed=True, batch_size=batch_size)
    result = {
        "input_shape": list(sample.input_shape),
        "num_classes": int(models.evaluate.outputs[0].shape[-1]),
        "params": int(models.train.count_params()),
        # The class capsules' weights (CapsNet's digitcaps), what grows with the image.
        "class_capsule_params": None if classes is None else int(classes.count_params()),
        # What the built model holds, the defaults by image size resolved.
        "architecture": families.family_of_model(models.train).architecture(models.train),
        "warmup_s": round(warm_train + warm_eval, 2),
        "train_img_per_s": round(train_rate, 1),
        "train_gflop_per_image": round(flops.training_flops(models.train) / 1e9, 4),
        "train_gflop_per_image_computed": round(computed / 1e9, 4),
        "train_gflops": round(train_rate * computed / 1e9, 1),
        "train_step_s": [round(t, 4) for t in train_times],
        "eval_img_per_s": round(batch_size / statistics.median(eval_times), 1),
        "epoch_s": round(MNIST_EPOCH / train_rate, 1),
        "epoch_measured": False,
    }
    # The peak so far (timed steps only), apart from the peak after fit() below:
    # on the GPU, torch's peak at batch 100 was 9x JAX's, and which part holds it is open.
    result["peak_memory_mb_before_fit"] = _megabytes(plugin.peak_memory() or _peak_rss())
    # Held between steps (weights, optimizer state, what the backend caches), against
    # the peak: a peak far above it is transient, such as a convolution's workspace.
    in_use = plugin.memory_in_use()
    result["memory_in_use_mb_after_steps"] = None if in_use is None else _megabytes(in_use)
    if epoch_images:
        # Whole batches only: a last, smaller batch would make JAX and TensorFlow
        # compile the step again inside the timed epoch.
        epoch_images = -(-epoch_images // batch_size) * batch_size
        progress(f"fit() over {epoch_images} images, twice")
        repeat = np.arange(epoch_images) % len(sample.x_train)
        stored = Examples(sample.x_train[repeat], sample.y_train[repeat], result["num_classes"])
        # Batches cut as `capsnet train` cuts them (by default on the device on a GPU, when they fit).
        on_device = device_examples.held_on_device(config.data_on_device, plugin.on_gpu(), stored)
        examples = examples_for(models.train, stored)
        examples = device_examples.on_device(examples) if on_device else examples
        # Several steps per compiled call in fit() only (train_on_batch runs one):
        # its training function is built again for them.
        models.train.steps_per_execution = backends.steps_per_execution(config.steps_per_execution)
        models.train.train_function = None
        timer = EpochTimer(plugin.sync)
        plugin.sync()
        start = time.perf_counter()
        models.train.fit(Batches(examples, batch_size), epochs=2, shuffle=False, verbose=0, callbacks=[timer])
        plugin.sync()
        elapsed = time.perf_counter() - start
        assert len(timer.seconds) == 2, f"fit() ran {len(timer.seconds)} of 2 epochs"
        # The second epoch is the one a training run repeats: the first can still hold
        # one-off work (the first steps through fit()'s own loop); the call's set-up
        # and tear-down fall outside both.
        result.update(
            epoch_images=epoch_images,
            epoch_s=round(timer.seconds[1] * MNIST_EPOCH / epoch_images, 1),
            epoch_timed="second of two fit() epochs",
            first_epoch_s=round(timer.seconds[0] * MNIST_EPOCH / epoch_images, 1),
            fit_setup_s=round(elapsed - sum(timer.seconds), 2),
            epoch_measured=epoch_images >= MNIST_EPOCH,
            steps_per_execution=models.train.steps_per_execution,
            data_on_device=on_device,
        )
    peak = plugin.peak_memory()
    result["peak_memory_mb"] = _megabytes(peak or _peak_rss())
    result["peak_memory_kind"] = "device" if peak else "host RSS"
    before, after = result["peak_memory_mb_before_fit"], result["peak_memory_mb"]
    progress(f"peak memory {before} MB before fit(), {after} MB after")
    return result


def _has_layer(model, name):
    return any(layer.name == name for layer in model.layers)


def _megabytes(count):
    return round(count / 2**20, 1)


def _peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run_all(runs, worker_args, out_dir):
    """Run one worker subprocess per (backend, precision); save bench.json and bench.png.

    `runs`: `[(backend, precision), ...]`. `out_dir` is checked first, so a bad
    --out fails before any measuring. Each result gains the share of this
    machine's matmul peak (the best any backend's matrix product reached here
    in that dtype) and its speed relative to float32 on the same backend.
    """
    out_dir = check_writable(out_dir, "out")
    results = {}
    for name, precision in runs:
        key = name if len({p for _, p in runs}) == 1 else f"{name} {precision}"
        print(f"benchmarking {key} ...", flush=True)
        args = ["-m", "capsnet", "--backend", name, "bench-worker", "--precision", precision, *worker_args]
        process = run_on_backend(name, args, echo_prefix=PROGRESS)
        died = None
        if process.returncode < 0:  # a native crash (TensorFlow 2.21's, docs/known-problems.md): once more
            died = _failure(process)
            print(f"the {key} worker was {died}; running it once more", flush=True)
            process = run_on_backend(name, args, echo_prefix=PROGRESS)
        lines = process.stdout.strip().splitlines()
        if process.returncode != 0 or not lines:
            results[key] = {
                "backend": name,
                "precision": precision,
                "error": _failure(process),
                "exit_code": process.returncode,  # 2: the worker refused its options
            }
        else:
            results[key] = {"backend": name, **json.loads(lines[-1])}
        if died is not None:
            results[key]["ran_again_after"] = died
        _save(results, out_dir)  # after every run, so a run cut short keeps what it measured
    good = {n: r for n, r in results.items() if "error" not in r}
    if good:
        plots.bars(
            list(good),
            [r["train_img_per_s"] for r in good.values()],
            "training images/s",
            out_dir / "bench.png",
            "CapsNet training speed (median step)",
        )
    return results


def _save(results, out_dir):
    _compare(results)
    text = json.dumps(results, indent=2)
    atomic_write(out_dir / "bench.json", lambda temporary: temporary.write_text(text))


def _failure(process):
    """Why a worker failed: its exit code or signal, and its last line that is not a
    framework's log chatter (TensorFlow and absl print I.../W... lines at start-up)."""
    code = process.returncode
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    chatter = ("I0000", "W0000", "WARNING: All log messages")
    lines = [line for line in process.stderr.strip().splitlines() if not line.startswith(chatter)]
    return f"{how}: {lines[-1] if lines else 'no error message'}"


def _compare(results):
    """Add each run's share of the machine's matmul peak and its ratio to float32."""
    good = [r for r in results.values() if "error" not in r]
    peak = {}
    for d in PEAK_DTYPES:
        measured = [r["matmul_gflops"][d] for r in good if d in r["matmul_gflops"]]
        if measured:
            peak[d] = max(measured)
    for r in good:
        dtype = COMPUTE_DTYPE.get(r["precision"])
        if dtype in peak:
            r["peak_gflops"] = {"dtype": dtype, "value": peak[dtype]}
            r["share_of_peak"] = round(r["train_gflops"] / peak[dtype], 3)
        base = [b for b in good if b["backend"] == r["backend"] and b["precision"] == "float32"]
        if base:
            r["vs_float32"] = round(r["train_img_per_s"] / base[0]["train_img_per_s"], 2)


def table(results):
    """The results as a Markdown table."""
    rows = [
        "| backend | precision | warm-up s | train img/s | x float32 | GFLOP/s | share of matmul peak "
        "| MNIST epoch s | eval img/s | peak memory MB | fast paths |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        if "error" in r:
            rows.append(f"| {r['backend']} | {r['precision']} | failed: {r['error']} | | | | | | | | |")
            continue
        epoch = f"{r['epoch_s']}" + ("" if r["epoch_measured"] else " (extrapolated)")
        share = f"{r['share_of_peak']:.0%} of {r['peak_gflops']['value']}" if "share_of_peak" in r else "-"
        rows.append(
            f"| {r['backend']} | {r['precision']} | {r['warmup_s']} | {r['train_img_per_s']} "
            f"| {r.get('vs_float32', '-')} | {r['train_gflops']} | {share} | {epoch} | {r['eval_img_per_s']} "
            f"| {r['peak_memory_mb']} ({r['peak_memory_kind']}) | {', '.join(r['fast_paths']) or '-'} |"
        )
    counts = [
        f"{key}: {r['train_gflop_per_image_computed']} ({r['train_gflop_per_image']})"
        for key, r in results.items()
        if "train_gflop_per_image_computed" in r
    ]
    if counts:
        rows += ["", "GFLOP per training image as the ops compute it (paper's count): " + ", ".join(counts)]
    sizes = [
        f"{key}: {r['params']:,} ({r['class_capsule_params']:,} in the class capsules)"
        if r.get("class_capsule_params") is not None
        else f"{key}: {r['params']:,}"
        for key, r in results.items()
        if "params" in r
    ]
    if sizes:
        shape = next(r["input_shape"] for r in results.values() if "input_shape" in r)
        rows += ["", f"Parameters at {'x'.join(map(str, shape))}: " + ", ".join(sizes)]
    built = next((r["architecture"] for r in results.values() if "architecture" in r), {})
    shaping = {k: built[k] for k in ("class_capsules", "stem_blocks", "decoder_type") if k in built}
    if shaping:
        rows += ["", "Model: " + ", ".join(f"{k} {v}" for k, v in shaping.items())]
    peaks = {}
    for key, r in results.items():
        for dtype, value in r.get("matmul_gflops", {}).items():
            peaks.setdefault(dtype, []).append(f"{key}: {value}")
    if peaks:
        rows.append("")
    for dtype, values in peaks.items():
        rows.append(f"matmul peak, {dtype}, GFLOP/s: " + ", ".join(values))
    return "\n".join(rows)
