"""Write a file so that readers only ever see the old or the whole new one."""

import os
from pathlib import Path


def atomic_write(path, write):
    """Call `write(temporary_path)`, then rename the result onto `path`.

    The temporary file sits beside `path` and keeps its suffix (Keras needs
    `.keras`, matplotlib reads the format from `.png`); it is removed if
    `write` fails, leaving any existing `path` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
