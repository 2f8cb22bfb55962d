"""Keeping native-library chatter (TensorFlow/absl/XNNPACK logs written straight to file
descriptors 1 and 2) out of the user's terminal without losing it when something fails."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from typing import Iterator, Type

from .errors import PocketsrError


@contextmanager
def quiet_native(what: str, error: Type[PocketsrError]) -> Iterator[None]:
    """Redirect fds 1 and 2 to a temporary log for the duration of the block.

    If the block raises anything other than a :class:`PocketsrError` or KeyboardInterrupt, the
    exception is replaced by ``error`` whose one-line message names ``what``, the original
    exception and the last three lines of the captured log.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        except (PocketsrError, KeyboardInterrupt):
            raise
        except Exception as exc:
            sys.stdout.flush()
            sys.stderr.flush()
            log.seek(0)
            lines = [ln for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            tail = f" | log: {' / '.join(lines[-3:])}" if lines else ""
            raise error(f"{what} failed: {type(exc).__name__}: {first}{tail}") from exc
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
