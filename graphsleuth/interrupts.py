"""Ctrl-C, handled so that work stops cleanly: never half-way through a step that must finish, and never lost."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

__all__ = ["CtrlC", "interrupts_deferred"]


class CtrlC:
    """Ctrl-C, reliably: it stops the work at once, or at the next :meth:`check` at the latest.

    Python delivers SIGINT as a KeyboardInterrupt wherever the main thread is;
    raised inside library code that swallows it (pandas building an index
    engine does), it is lost and the work carries on. The handler raises it as
    usual and also remembers it, and :meth:`check` raises it again: before and
    while each phase of a load's writes runs (the writes themselves run in other
    threads, see :class:`Writers`), before ``detect`` writes its results, and when the block
    ends (an interrupt swallowed in the last piece of work). Installed only in the
    main thread, and only over Python's default handler (an application's own
    is left alone).
    """

    def __init__(self):
        self.received = False
        self.previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = True
        raise KeyboardInterrupt

    def check(self) -> None:
        if self.received:
            raise KeyboardInterrupt

    def __exit__(self, exc_type, exc, tb):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        if self.received and exc_type is None:
            # swallowed during the last piece of work, after the last check
            raise KeyboardInterrupt
        return False


@contextmanager
def interrupts_deferred():
    """Hold Ctrl-C (SIGINT) back until the block is done, then deliver it.

    Used around the few steps that must not stop half-way: moving the new
    directory into place (and the old one back on failure) and cleaning up,
    and igraph's C code, which a KeyboardInterrupt raised inside can abort.
    Python runs signal handlers in the main thread whichever thread the kernel
    delivered SIGINT to, so a handler that only takes note holds it back
    reliably (blocking SIGINT with pthread_sigmask covers one thread only).
    Elsewhere than the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(signal.SIGINT, None)
            elif previous == signal.SIG_DFL:
                raise KeyboardInterrupt
