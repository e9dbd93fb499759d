"""Files the command line writes whole or not at all: under a temporary name beside the target,
then renamed onto it, so a failure leaves no half-written file (and an older one as it was)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path, check: Callable[[Path], None] | None = None) -> Iterator[Path]:
    """A temporary file beside `path` to write; renamed onto `path` when the block ends without an
    error and `check` (if given) passed on it, else deleted."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
