"""Write a file so that readers only ever see the old or the whole new one."""

import os
import re
from pathlib import Path

from capsnet.errors import CapsNetInputError

# `.{stem}.{pid}.tmp{suffix}`: the temporary name atomic_write uses.
_TEMPORARY = re.compile(r"^\..+\.(\d+)\.tmp(\.[^.]*)?$")


def atomic_write(path, write):
    """Call `write(temporary_path)`, then rename the result onto `path`.

    The temporary file sits beside `path` and keeps its suffix (Keras needs
    `.keras`, matplotlib reads the format from `.png`); it is removed if
    `write` fails, leaving any existing `path` untouched. A failure to write
    (a full disk, a read-only folder) becomes a one-line `CapsNetInputError`.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(temporary)
        os.replace(temporary, path)
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        raise CapsNetInputError(
            f"could not write {path} ({reason}); {path.parent} keeps its previous files: "
            f"free disk space or write elsewhere"
        ) from None
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path, text):
    """Write a text file through a temporary file and a rename."""
    atomic_write(path, lambda temporary: temporary.write_text(text))


def remove_stale_temporaries(folder):
    """Delete temporary files that killed writers (other processes) left in `folder`.

    Only safe while no other process writes there (see `capsnet.save_dir.claim`).
    """
    removed = []
    for entry in Path(folder).iterdir():
        match = _TEMPORARY.match(entry.name)
        if match and int(match.group(1)) != os.getpid() and entry.is_file():
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed
