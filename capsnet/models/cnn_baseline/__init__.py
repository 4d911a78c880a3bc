"""The paper's baseline CNN (Sabour et al., 2017, Section 5): the `cnn-baseline` family."""

from capsnet.models.registry import PAPER_RECIPE, SEED_RECIPE, ModelFamily, register_family

FAMILY = register_family(
    ModelFamily(
        name="cnn-baseline",
        summary="the paper's baseline CNN, 35.4M parameters at 28x28 (Sabour et al., 2017)",
        module="capsnet.models.cnn_baseline.model",
        # The paper trains the baseline like CapsNet (Adam, 2-pixel shifts) and gives
        # no schedule of its own: CapsNet's recipes, so the two compare on one footing.
        recipe=SEED_RECIPE,
        recipes={"seed": SEED_RECIPE, "paper": PAPER_RECIPE},
        options=("shift_pixels", "seed"),
        not_accepted={
            "routings": "the CNN baseline has no capsules to route",
            "lam_recon": "the CNN baseline has no decoder",
            "class_capsules": "the CNN baseline has no capsules",
            "stem_blocks": "the CNN baseline is the paper's three convolutions",
            "decoder_type": "the CNN baseline has no decoder",
            "primary_kernel_size": "the CNN baseline has no capsules",
            "primary_strides": "the CNN baseline has no capsules",
        },
        decoder=False,
        scores="probabilities",
    )
)
