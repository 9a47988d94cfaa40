"""Files and folders that hold PINs or keys: readable by their owner only, written atomically.

The state folder (`.accesscodes/`: the simulator's fleet with its PINs, the journal, its key)
and what `import` writes (an env file of PINs, YAML with literal PINs) must not be readable by
other users of the machine, even when a file already existed with a wider mode, and a crash
while writing must leave either the old content or the new, never half a key.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) with the folder itself 0700; tighten it to 0700 when it
    exists with a wider mode and belongs to us (another user's folder is left alone)."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    info = path.stat()
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, DIR_MODE)
    return path


def write_private(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data`, mode 0600: a temp file in the same folder, fsync, rename.

    Readers see the old content or the new one, and the file is 0600 even if it existed with
    a wider mode (the rename puts a new file in its place; a symlink there is replaced, not
    followed).
    """
    temp = _write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _sync_dir(path.parent)


def create_private(path: Path, data: bytes | str) -> bytes:
    """Create `path` holding `data` (mode 0600) unless it exists; return what `path` holds.

    The file appears whole or not at all (temp file, then a hard link to the name), and a file
    another process created first wins: its content is returned and ours is dropped.
    """
    temp = _write_temp(path, data)
    try:
        os.link(temp, path)
    except FileExistsError:
        return path.read_bytes()
    finally:
        temp.unlink(missing_ok=True)
    _sync_dir(path.parent)
    return data.encode() if isinstance(data, str) else data


def tighten_file(path: Path) -> None:
    """Make an existing file of ours 0600 (SQLite creates its files with the umask's mode)."""
    with contextlib.suppress(FileNotFoundError):
        info = path.stat()
        if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, FILE_MODE)


def _write_temp(path: Path, data: bytes | str) -> Path:
    payload = data.encode() if isinstance(data, str) else data
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # mkstemp's mode already, said out loud
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _sync_dir(directory: Path) -> None:
    """Make a rename or link durable (best effort: not every platform opens folders)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
