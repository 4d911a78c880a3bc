"""CapsNet with dynamic routing (Sabour, Frosst & Hinton, 2017): the `capsnet` family."""

from capsnet.models.registry import PAPER_RECIPE, SEED_RECIPE, ModelFamily, register_family

# How the class capsules hold their matrices: the paper's one per primary capsule and
# class, or one per primary capsule type and class, shared over the grid (`SharedCapsuleLayer`).
CLASS_CAPSULES = ("per-capsule", "shared")
# The learning rate `capsnet train --class-capsules shared` defaults to: at the
# recipe's 1e-3 the shared class capsules collapse to zero length within an epoch
# (MNIST and CIFAR-10 at 1e-4: docs/large-images.md).
SHARED_CLASS_CAPSULES_LR = 1e-4

FAMILY = register_family(
    ModelFamily(
        name="capsnet",
        summary="dynamic routing (Sabour et al., 2017)",
        module="capsnet.models.capsnet.model",
        recipe=SEED_RECIPE,
        recipes={"seed": SEED_RECIPE, "paper": PAPER_RECIPE},
        options=(
            "routings",
            "shift_pixels",
            "lam_recon",
            "seed",
            "digits_per_image",
            "class_capsules",
            "stem_blocks",
            "decoder_type",
        ),
        not_accepted={
            "primary_kernel_size": "capsnet's primary capsules are the paper's 9x9 convolution",
            "primary_strides": "capsnet's primary capsules are the paper's 9x9 convolution at stride 2",
        },
        legacy_layer="CapsuleLayer",
    )
)
