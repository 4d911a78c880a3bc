"""Efficient-CapsNet (Mazzia, Salvetti & Chiaberge, 2021): the `efficient-capsnet` family."""

from pathlib import Path

from capsnet.models.registry import ModelFamily, TrainingRecipe, register_family

# The authors' MNIST configuration (EscVM/Efficient-CapsNet, config.json).
RECIPE = TrainingRecipe(
    epochs=150, batch_size=16, lr=5e-4, lr_decay=0.97, source="Efficient-CapsNet's config.json"
)

FAMILY = register_family(
    ModelFamily(
        name="efficient-capsnet",
        summary="self-attention routing (Mazzia et al., 2021)",
        module="capsnet.models.efficient_capsnet.model",
        recipe=RECIPE,
        recipes={"paper": RECIPE},
        options=(
            "shift_pixels",
            "lam_recon",
            "seed",
            "digits_per_image",
            "decoder_type",
            "primary_kernel_size",
            "primary_strides",
        ),
        not_accepted={
            "routings": "efficient-capsnet routes in one self-attention step",
            "class_capsules": "efficient-capsnet's class capsules are its self-attention layer",
            "stem_blocks": "efficient-capsnet's own convolutions come before its capsules",
        },
        legacy_layer="SelfAttentionCapsuleLayer",
        presets={
            "efficient-capsnet-mnist": (
                "Efficient-CapsNet (Mazzia et al., 2021) trained on MNIST; class lengths only (no decoder)"
            ),
            "efficient-capsnet-multimnist": (
                "Efficient-CapsNet with 144 primary capsules trained on 1.8M MultiMNIST pairs "
                "on a CPU (90.18% of test pairs both right); names the two digits of a 36x36 image; "
                "class lengths only (no decoder)"
            ),
        },
        preset_dir=Path(__file__).parent / "presets",
    )
)
