"""One progress reporter for every long job: steps with their durations, and bars for steps that count rows.

The library is silent unless a caller hands it a reporter that shows
(``Progress(show=True)``; the command line does so unless ``--quiet``).
On a terminal the running step shows as a live line (a bar where the step
knows how much it has to do), drawn by rich; a finished step stays as one
line with its duration, and a step that fails is erased, so that a run
stopped by bad input leaves its one-line error alone on the screen. Anywhere
else (a pipe, a log file) a written line cannot be taken back, so a step is
written once it has finished, and a bar as a line per update
(``graphsleuth: accounts sent: 40000/96000``), which scripts can follow.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

__all__ = ["Progress", "Bar"]

T = TypeVar("T")
PREFIX = "graphsleuth: "


class Bar:
    """A step that counts what it has done out of a known total; it ends itself when the total is done.

    :meth:`advance` is thread-safe: a load's lanes write one step's rows from two threads.
    """

    def __init__(self, progress: Progress, name: str, total: int, task):
        self._progress = progress
        self.name = name
        self.total = int(total)
        self.done = 0
        self._task = task
        self._began = time.perf_counter()
        self._finished = False
        self._lock = threading.Lock()

    def advance(self, amount: int) -> None:
        """Count ``amount`` more of the total as done (the bar ends once all of it is)."""
        with self._lock:
            self.done += int(amount)
            done = self.done
        self._progress._advanced(self, done)
        if done >= self.total:
            self.finish()

    def finish(self) -> None:
        """End the step: its final line stays."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        seconds = time.perf_counter() - self._began
        self._progress.timings[self.name] = round(seconds, 3)
        self._progress._stop(self._task, f"{PREFIX}{self.name}: {self.done:,}/{self.total:,} ({seconds:.1f} s)")

    def abandon(self) -> None:
        """End the step without a final line (it failed, or the job stopped)."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._progress._stop(self._task, None)


class Progress:
    """Reports steps on stderr (when ``show``) and keeps every step's duration in :attr:`timings`."""

    def __init__(self, show: bool = False, stream=None):
        self.show = show
        self.stream = stream if stream is not None else sys.stderr
        self.timings: dict[str, float] = {}
        self._live = None
        self._lock = threading.Lock()
        self._running = 0

    @property
    def _terminal(self) -> bool:
        return self.show and hasattr(self.stream, "isatty") and self.stream.isatty()

    def step(self, name: str, action: Callable[[], T]) -> T:
        """Run ``action`` as the step ``name``, report it, and return its result."""
        with self.steps(name):
            return action()

    @contextmanager
    def steps(self, name: str) -> Iterator[None]:
        """The block is the step ``name``."""
        began = time.perf_counter()
        task = self._start(name, None)
        try:
            yield
        except BaseException:
            self._stop(task, None)
            raise
        seconds = time.perf_counter() - began
        self.timings[name] = round(seconds, 3)
        self._stop(task, f"{PREFIX}{name} ({seconds:.1f} s)")

    def counter(self, name: str, total: int) -> Bar:
        """A step of ``total`` units that ends when they are done (:meth:`Bar.advance`), or when abandoned."""
        bar = Bar(self, name, total, self._start(name, total))
        if total <= 0:
            bar.finish()
        return bar

    @contextmanager
    def bar(self, name: str, total: int) -> Iterator[Bar]:
        """The block is a step of ``total`` units; it calls :meth:`Bar.advance` as it goes."""
        counter = self.counter(name, total)
        try:
            yield counter
        except BaseException:
            counter.abandon()
            raise
        counter.finish()

    def note(self, line: str) -> None:
        """A line worth reading now (a warning, a count), whatever the stream."""
        if not self.show:
            return
        if self._live is not None:
            self._live.console.print(line, markup=False, highlight=False)
        else:
            self._write(line)

    # -- drawing ------------------------------------------------------------------------------

    def _start(self, name: str, total: int | None):
        if not self.show:
            return None
        if not self._terminal:
            return name
        with self._lock:
            if self._live is None:
                self._live = _live_display(self.stream)
                self._live.start()
            self._running += 1
            return self._live.add_task(name, total=total)

    def _stop(self, task, line: str | None) -> None:
        if task is None:
            return
        if not self._terminal:
            if line is not None:
                self._write(line)
            return
        with self._lock:
            self._live.remove_task(task)
            if line is not None:
                self._live.console.print(line, markup=False, highlight=False)
            self._running -= 1
            if self._running == 0:
                self._live.stop()
                self._live = None

    def _advanced(self, bar: Bar, done: int) -> None:
        if bar._task is None:
            return
        if self._terminal:
            self._live.update(bar._task, completed=done)
        else:
            self._write(f"{PREFIX}{bar.name}: {done}/{bar.total}")

    def _write(self, line: str) -> None:
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def _live_display(stream):
    """rich's live progress display on ``stream``, erased when it stops (finished steps are printed above it).

    A step that counts shows a bar and how much of its total is done; a step that
    does not shows a spinner and its time so far.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class Counted(ProgressColumn):
        """A column that shows only for steps that count (a bar, or done/total)."""

        def __init__(self, column: ProgressColumn):
            super().__init__()
            self.column = column

        def render(self, task):
            return self.column.render(task) if task.total is not None else Text("")

        def get_table_column(self):
            return self.column.get_table_column()

    console = Console(file=stream, highlight=False)
    return RichProgress(
        SpinnerColumn(),
        TextColumn(PREFIX + "{task.description}"),
        Counted(BarColumn()),
        Counted(MofNCompleteColumn()),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
