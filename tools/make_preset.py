"""Turn a trained model into a shipped preset: `python -m tools.make_preset RUN.keras NAME`.

Keeps the capsules and drops the decoder and the random shifts (the preset
classifies; it does not reconstruct), and writes NAME.keras into the presets
folder of the model's family (capsnet/models/<family>/presets/) through a
temporary file. Add NAME to that family's `presets` as well.
"""

import argparse
import os
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, help="A .keras file written by `capsnet train`.")
    parser.add_argument("name", help="The preset's name, e.g. efficient-capsnet-mnist.")
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")

    from capsnet.model_files import atomic_save, load_capsnet
    from capsnet.models import family_of_model

    models = load_capsnet(args.model)
    family = family_of_model(models.train)
    out = family.preset_path(args.name)
    atomic_save(family.classifier_only(models).train, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
