"""Typed settings of each command, built by `capsnet.cli` from its options.

Defaults are the paper's and the seed project's; the command line shows them.
"""

from dataclasses import dataclass
from pathlib import Path

from capsnet.paper import LAM_RECON


@dataclass(frozen=True)
class DataConfig:
    """Which images to read: a named dataset, or `data` (an .npz, an IDX folder
    or class folders of images)."""

    dataset: str = "mnist"
    data: Path | None = None
    subset: int | None = None  # the first N images (training images for train, test images for test)
    # Class folders only (capsnet.data.folders):
    image_size: tuple[int, int] | None = None  # resize to (height, width); None: all the same size
    channels: int | None = None  # 1 or 3; None: from the images (test: from the model)
    validation_split: float | None = None  # held-out fraction when there is no test/ or val/ folder
    strict: bool = False  # refuse unreadable image files instead of skipping them
    # Generated datasets only (multimnist); None: the generator's default.
    epoch_size: int | None = None  # training examples drawn afresh each epoch
    test_size: int | None = None  # fixed test examples
    # Compare the data's label k with the model's class k even where their names differ.
    match_classes_by_index: bool = False

    def folder_options(self, seed=None):
        """`capsnet.data.load`'s `folders` argument."""
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "validation_split": self.validation_split,
            "strict": self.strict,
            "seed": 0 if seed is None else seed,
        }

    def generated_options(self):
        """`capsnet.data.load`'s `generated` argument (the options given)."""
        given = {"epoch_size": self.epoch_size, "test_size": self.test_size}
        return {name: value for name, value in given.items() if value is not None}


@dataclass(frozen=True)
class TrainConfig(DataConfig):
    """`capsnet train`'s settings; `capsnet.commands.train.settle_options` fills
    the training settings from the model family's recipe."""

    model: str = "capsnet"  # a registered family (capsnet.models.family_names())
    epochs: int = 50
    batch_size: int = 100
    lr: float = 1e-3
    lr_decay: float = 0.9  # learning-rate multiplier per epoch (per lr_decay_steps: step-exponential)
    recipe: str | None = None  # the family's recipe these settings came from (None: set by hand)
    lr_schedule: str = "epoch-exponential"  # capsnet.schedules.LR_SCHEDULES
    lr_decay_steps: int | None = None  # None: the schedule's default (capsnet.step_schedules.per_step)
    min_lr: float = 0.0  # the floor of every schedule
    lam_recon: float = LAM_RECON
    routings: int = 3
    class_capsules: str = "per-capsule"  # capsnet.models.capsnet.CLASS_CAPSULES
    stem_blocks: int | None = None  # None: by image size (capsnet.models.image_sizes)
    decoder_type: str | None = None  # "dense" or "deconv"; None: by image size
    primary_kernel_size: int | None = None  # Efficient-CapsNet's; None: the whole grid (the paper's)
    primary_strides: int | None = None  # Efficient-CapsNet's; None: 1
    shift_pixels: int | None = None  # None: 2, or 0 for data that comes shifted (multimnist)
    save_dir: Path = Path("result")
    weights: Path | None = None  # start from this model instead of a new one
    seed: int | None = None
    precision: str = "float32"  # one of capsnet.backends.PRECISIONS
    resume: bool = False
    checkpoint_every: int | None = None  # also checkpoint every N steps inside an epoch
    checkpoint_minutes: float = 5.0  # and after this many minutes since the last one (0: never)
    steps_per_execution: int = 1  # training steps per compiled call (where the backend can)
    jit: bool | None = None  # compile the training step (None: Keras's "auto")
    data_on_device: bool | None = None  # None: on a GPU when it fits (capsnet.data.device_examples)
    save_classifier: bool = False  # also write classifier.keras (no decoder, no shifts)
    distribute: str = "none"  # or "data-parallel"
    coordinator_address: str | None = None
    num_processes: int | None = None
    process_id: int | None = None


@dataclass(frozen=True)
class EvaluateConfig(DataConfig):
    weights: Path = Path("result/trained_model.keras")
    batch_size: int = 100
    save_dir: Path = Path("result")


@dataclass(frozen=True)
class ManipulateConfig(DataConfig):
    weights: Path = Path("result/trained_model.keras")
    digit: int = 5
    save_dir: Path = Path("result")


@dataclass(frozen=True)
class PredictConfig:
    weights: Path
    inputs: tuple[Path, ...]
    invert: bool = False


@dataclass(frozen=True)
class BenchConfig:
    """One backend's measurement (`bench` runs one worker per backend with these)."""

    model: str = "capsnet"  # a registered family
    batch_size: int = 100
    routings: int = 3
    steps: int = 10
    warmup: int = 3
    images: int = 0  # also time one fit() epoch over this many images
    steps_per_execution: int = 1  # that epoch's training steps per compiled call (where the backend can)
    precision: str = "float32"
    jit: bool | None = None  # None: Keras's "auto"
    data_on_device: bool | None = None  # the fit() epoch's images; None: on a GPU
    fast_paths: bool = True
    data: Path | None = None
    matmul_size: int = 2048  # the square product that measures the matmul peak
    # Random images of this size instead of --data (capsnet.commands.bench.random_images):
    image_size: tuple[int, int] | None = None  # (height, width)
    channels: int = 1
    num_classes: int = 10
    class_capsules: str = "per-capsule"  # CapsNet's (capsnet.models.capsnet.CLASS_CAPSULES)
    stem_blocks: int | None = None  # None: by image size (capsnet.models.image_sizes)
    decoder_type: str | None = None  # None: by image size


@dataclass(frozen=True)
class ExportConfig:
    weights: Path
    format: str = "onnx"  # one of capsnet.commands.export.FORMATS
    output: Path | None = None  # default: beside the weights' name, in the working folder
    reconstruction: bool = False  # also output the decoder's reconstruction
