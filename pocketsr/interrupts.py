"""Ctrl-C (SIGINT) handling that survives the libraries pocketsr loads.

Python's default handler raises KeyboardInterrupt in the main thread at the next bytecode. Two
places lose it:

* **garbage-collector callbacks** (and ``__del__`` methods): CPython reports an exception raised
  there as "ignored" and carries on. JAX, which litert-torch imports, registers a gc callback
  that runs at every collection, so a Ctrl-C during a conversion was silently dropped about one
  time in seven while the converters were being imported (measured: 2 of 14 SIGINTs sent 2-9 s
  into ``pocketsr convert``; the run then finished and exited 0).
  :func:`install` re-delivers such a signal 20 ms later, outside the callback.
* **between an encoder call and the muxing of what it returned** (video): see
  :func:`requests_stop`, which turns Ctrl-C into a stop request the pipeline honours between
  two frames.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from contextlib import contextmanager

#: delay before a SIGINT that landed in a gc callback or ``__del__`` is delivered again (s)
REDELIVER_S = 0.02


def _in_unraisable_context(frame) -> bool:
    """True if ``frame`` or a caller is a gc callback or a ``__del__`` method, where a raised
    exception is printed as ignored instead of propagating."""
    callbacks = {getattr(cb, "__code__", None) for cb in gc.callbacks} - {None}
    while frame is not None:
        if frame.f_code in callbacks or frame.f_code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _handler(signum, frame):
    if _in_unraisable_context(frame):
        timer = threading.Timer(REDELIVER_S, os.kill, (os.getpid(), signal.SIGINT))
        timer.daemon = True
        timer.start()
        return
    raise KeyboardInterrupt


def install() -> None:
    """Replace Python's default SIGINT handler (only that one: a SIGINT ignored by the parent,
    or a handler someone else installed, is left alone) with one that raises KeyboardInterrupt
    the same way but never inside a gc callback or ``__del__``. Call from the main thread."""
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _handler)


@contextmanager
def requests_stop(stop: threading.Event, interrupted: threading.Event):
    """Inside the block, Ctrl-C sets ``interrupted`` and ``stop`` instead of raising
    KeyboardInterrupt wherever the main thread happens to be; the caller raises it at a safe
    point. Only the main thread can install a handler: elsewhere, and when SIGINT is ignored or
    handled outside Python, the block runs unchanged. The previous handler is restored on exit."""
    previous = signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None
    if previous is None or previous is signal.SIG_IGN:
        yield
        return

    def request(signum, frame):
        interrupted.set()
        stop.set()

    signal.signal(signal.SIGINT, request)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
