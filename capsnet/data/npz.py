"""An .npz file in the keras.datasets.mnist layout: x_train, y_train, x_test, y_test."""

import numpy as np

from capsnet.data.dataset import ARRAY_NAMES
from capsnet.errors import CapsNetInputError


def read_npz(path):
    """The four arrays of the .npz at `path`, as stored (checked later, in `capsnet.data.validation`).

    Pickled objects are refused (allow_pickle=False): an .npz is data, never code.
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ARRAY_NAMES if key not in npz.files]
            if missing:
                raise CapsNetInputError(
                    f"{path} lacks the keys {', '.join(missing)}; an .npz needs "
                    f"x_train, y_train, x_test and y_test (the keras.datasets.mnist layout)"
                )
            return {key: npz[key] for key in ARRAY_NAMES}
    except CapsNetInputError:
        raise
    except Exception as error:
        raise CapsNetInputError(
            f"{path} is not a readable .npz file ({type(error).__name__}: {error}); "
            f"re-create it with numpy.savez"
        ) from None
