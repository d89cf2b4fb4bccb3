"""Write a whole output directory or nothing.

Results are written into a temporary directory beside the destination and
moved into place only when every file is complete, so a failure or Ctrl-C
never leaves half-written output behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import GraphsleuthError
from .interrupts import interrupts_deferred

__all__ = ["check_output_dir", "output_directory"]


def check_output_dir(out: str | Path, force: bool) -> Path:
    """Refuse early (before any work) to overwrite a non-empty directory without ``force``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise GraphsleuthError(f"{out}: exists and is not a directory")
    if out.exists() and any(out.iterdir()) and not force:
        raise GraphsleuthError(f"{out}: directory exists and is not empty (use --force to replace it)")
    return out


@contextmanager
def output_directory(out: str | Path, force: bool = False):
    """Yield a temporary directory whose contents replace ``out`` when the block succeeds.

    On any failure (or Ctrl-C) the temporary directory is removed and ``out``
    is left as it was: absent, or holding the previous results.
    """
    out = check_output_dir(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial.", dir=out.parent))
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)  # mkdtemp's directory is private; the result should not be
        yield tmp
        with interrupts_deferred():
            if out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
                os.replace(out, old / "previous")
                try:
                    os.replace(tmp, out)
                except BaseException:
                    os.replace(old / "previous", out)  # put the previous results back
                    shutil.rmtree(old, ignore_errors=True)
                    raise
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, out)
    except BaseException:
        with interrupts_deferred():
            shutil.rmtree(tmp, ignore_errors=True)
        raise
