"""The folder a training run writes into: checked first, and one run at a time.

`claim(path)` is used as a context manager around a whole `train`:
    - the folder must be creatable and writable, checked before any work;
    - a lock file (`.capsnet.lock`, holding host and pid) keeps a second run
      out; a lock whose process is gone from this host is stale and taken over;
    - temporary files that a killed save left behind are removed.
"""

import contextlib
import json
import os
import socket
import tempfile
from pathlib import Path

from capsnet.atomic import remove_stale_temporaries
from capsnet.errors import CapsNetInputError

LOCK_NAME = ".capsnet.lock"


def check_writable(path, option="save_dir"):
    """Create `path` if needed and prove a file can be written in it.

    `option` names the argument in the messages (`save_dir=PATH`).
    """
    path = Path(path)
    fix = f"pass a writable folder as {option}=DIR"
    if path.exists() and not path.is_dir():
        raise CapsNetInputError(f"{option}={path} is a file, not a folder; {fix}")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".capsnet-probe-"):
            pass
    except (FileExistsError, NotADirectoryError):
        raise CapsNetInputError(f"cannot create {option}={path}: a parent of it is a file; {fix}") from None
    except OSError as error:
        raise CapsNetInputError(f"cannot write into {option}={path} ({error.strerror}); {fix}") from None
    return path


@contextlib.contextmanager
def claim(path):
    """Hold `path` for one training run (see the module docstring)."""
    path = check_writable(path)
    lock = path / LOCK_NAME
    owner = {"host": socket.gethostname(), "pid": os.getpid()}
    _acquire(lock, owner)
    try:
        remove_stale_temporaries(path)
        yield path
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(lock.read_text()) == owner:
                lock.unlink()


def _acquire(lock, owner):
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(lock)
            if holder is not None and _alive(holder):
                raise CapsNetInputError(
                    f"{lock.parent} is in use by another training run (pid {holder.get('pid')} on "
                    f"{holder.get('host')}); wait for it, or choose another save_dir=DIR "
                    f"(if no such run exists, delete {lock})"
                ) from None
            lock.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(descriptor, "w") as f:
            json.dump(owner, f)
        return
    raise CapsNetInputError(f"could not lock {lock.parent}; delete {lock} and try again")


def _holder(lock):
    """The lock's owner, or None when the file is unreadable (a half-written lock)."""
    try:
        holder = json.loads(lock.read_text())
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _alive(holder):
    """Whether the lock's process still runs. Another host's cannot be checked: assume so."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
