"""Ctrl-C: what a run has started (temporary files, worker processes) and how it stops.

The solver runs in native code that Python's signal handling cannot break into, so
the command line does its work in a second thread and keeps the main thread free to
take Ctrl-C (:func:`run_interruptible`). On Ctrl-C the main thread takes the commit
lock (no results folder or map is renamed into place after that), deletes the
temporary files the run had open, kills the worker processes and leaves with exit
code 130: within a fraction of a second whatever the solver was doing, with the
previous results untouched.

Worker processes (:func:`worker_pool`) ignore Ctrl-C themselves (the parent stops
them) and, on Linux, are killed by the kernel if their parent dies, so none is left
behind even when the parent is killed outright.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

#: Exit code of a run stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

_COMMIT = threading.Lock()
_ABANDONED = threading.Event()
_OPEN: set[Path] = set()


@contextlib.contextmanager
def temporary(path: Path) -> Iterator[Path]:
    """Register a temporary file or folder, deleted if the run is interrupted."""
    _OPEN.add(path)
    try:
        yield path
    finally:
        _OPEN.discard(path)


@contextlib.contextmanager
def commit() -> Iterator[None]:
    """The moment temporary files are renamed into place: never after an interrupt.

    Raises
    ------
    KeyboardInterrupt
        The run was interrupted before its results were committed.
    """
    with _COMMIT:
        if _ABANDONED.is_set():
            raise KeyboardInterrupt
        yield


def _worker_start() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops its workers
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def worker_pool(workers: int, *, tasks_per_worker: int | None = None) -> ProcessPoolExecutor:
    """A pool of ``workers`` fresh processes (spawned) that die with the run.

    Parameters
    ----------
    workers
        How many processes.
    tasks_per_worker
        Tasks a process runs before a fresh one replaces it (``None``: no limit): a
        solver's memory, which the process keeps after each task, is then given back.
    """
    import multiprocessing

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_start, max_tasks_per_child=tasks_per_worker)


def stop() -> None:
    """Stop the run now: no commit after this, temporary files gone, workers killed."""
    import multiprocessing

    _COMMIT.acquire()  # held until the process ends: a rename under way finishes first
    _ABANDONED.set()
    for path in list(_OPEN):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    children = multiprocessing.active_children()
    for child in children:
        child.kill()
    for child in children:
        child.join(1.0)


def run_interruptible(work: Callable[[], int], message: str) -> int:
    """Run ``work`` in a second thread so that Ctrl-C stops it at once.

    Parameters
    ----------
    work
        The command; returns its exit code and may raise.
    message
        Printed to standard error on Ctrl-C.

    Returns
    -------
    int
        ``work``'s exit code. On Ctrl-C the process ends here with
        :data:`EXIT_INTERRUPTED` after :func:`stop` (``os._exit``: the solver's native
        thread cannot be joined).
    """
    outcome: list[int] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed to the main thread, raised there
            failure.append(exc)

    thread = threading.Thread(target=target, name="tp-assets-run", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        stop()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        with contextlib.suppress(Exception):
            sys.stderr.write(message + "\n")
            sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    if failure:
        raise failure[0]
    return outcome[0]
