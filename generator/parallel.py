"""Parallel work: map a pure function over items in worker processes.

Owns the process pool. Workers are forked, so they inherit the build's data (the
site, the templates) without copying it through pipes; only items and results
travel. Results come back in input order, so parallel output equals serial output.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_PR_SET_PDEATHSIG = 1
_IN_FLIGHT_PER_JOB = 4
"""Batches submitted ahead per worker."""
_SHARED: dict[str, Any] = {}
"""Data set by the parent before the pool starts; forked workers read it."""


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def shared(name: str) -> Any:
    """Inside a worker (or the parent), the value published under `name`."""
    return _SHARED[name]


def release() -> None:
    """Let go of what the last `parallel_map` published. (A command that exits at once
    need not: the process ends without freeing anything.)"""
    _SHARED.clear()


def fork_available() -> bool:
    """Whether this system starts processes by forking (which every worker here needs)."""
    return "fork" in multiprocessing.get_all_start_methods()


def forks(count: int, jobs: int, batch_size: int = 64) -> bool:
    """Whether `parallel_map` would map `count` items in workers (else in this process)."""
    return jobs > 1 and count >= 2 * batch_size and fork_available()


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C back while the body (forking workers) runs, and let it stop the build
    once it has: arriving in the middle of a fork, in one of the hooks Python runs
    around it, it would be printed and lost."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals go to the main thread
        return
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _start_worker(parent: int) -> None:
    """Set up a worker forked by the process `parent`: Linux kills it when the build
    that started it dies (even by `kill -9`), so no orphan is left waiting for work
    that never comes, and it ends at once if the build died before that was arranged;
    Ctrl-C, which a terminal sends to every process of the command, is left to the
    build, which stops its workers; and a worker told to stop ends quietly, whatever
    the command's own handling of SIGTERM."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # held while forking
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: orphans end when their pipe closes
    if os.getppid() != parent:  # the build died between the fork and the line above
        os._exit(1)


def _run_batch(function: Callable[[Item], Result], batch: Sequence[Item]) -> list[Result]:
    return [function(item) for item in batch]


def parallel_map(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    jobs: int,
    share: dict[str, Any] | None = None,
    batch_size: int = 64,
    per_pool: int | None = None,
) -> Generator[Result, None, None]:
    """`map(function, items)`, spread over `jobs` forked processes when that pays.

    `share` is published for `shared()` before the workers start. An exception in a
    worker is raised here, in the parent, with its original type. If the system will
    not start workers, the items are mapped in this process. With `per_pool`,
    fresh workers are forked for every `per_pool` items: a worker's memory (what it
    caches, and the parent's pages it copies by touching their objects) then stays
    bounded however many items there are.
    """
    _SHARED.clear()
    _SHARED.update(share or {})
    if not forks(len(items), jobs, batch_size):
        yield from (function(item) for item in items)
        return
    step = max(per_pool or len(items), batch_size)
    for start in range(0, len(items), step):
        yield from _pooled(function, items[start : start + step], jobs, batch_size)


class Background(Generic[Result]):
    """What a generator yields in a forked process, on its way here (see
    `in_background`)."""

    def __init__(
        self,
        function: Callable[[], Iterator[Result]],
        worker: multiprocessing.process.BaseProcess | None,
        receiving: Connection,
    ) -> None:
        self._function = function
        self._worker = worker
        self._receiving = receiving
        self._taken = 0
        """Values handed over so far."""
        self._here: Iterator[Result] | None = None
        """The generator run in this process, once the worker is gone."""

    def ready(self) -> bool:
        """Whether asking for the next value now would not wait for the process (it sent
        the value, or died, or never started)."""
        if self._worker is None or self._here is not None:
            return True
        try:
            return self._receiving.poll()
        except (EOFError, OSError):
            return True

    def __call__(self) -> Result:
        """The next value, once the process sends it (raising what the generator raised);
        if the process died first, or never started, the generator's next value when
        run here (from its start, skipping the values already handed over)."""
        if self._worker is not None and self._here is None:
            try:
                done, value = self._receiving.recv()
            except (EOFError, OSError):
                pass  # the worker died first
            else:
                if not done:
                    raise value
                self._taken += 1
                return value  # type: ignore[no-any-return]
        if self._here is None:
            self._here = self._function()
            for _ in range(self._taken):
                next(self._here)
        self._taken += 1
        return next(self._here)


@contextlib.contextmanager
def in_background(
    function: Callable[[], Iterator[Result]], share: dict[str, Any]
) -> Iterator[Background[Result]]:
    """Start the generator `function()` in a forked process, which finds `share`
    published for `shared()`; each value it yields is sent here as soon as it is made,
    and the `Background` given hands them over in order. Where no process can be
    started, or the one started dies, the values come from `function()` run here
    instead. A worker still running on the way out is stopped."""
    _SHARED.clear()
    _SHARED.update(share)
    context = multiprocessing.get_context("fork")
    receiving, sending = context.Pipe(duplex=False)
    worker: multiprocessing.process.BaseProcess | None
    worker = context.Process(
        target=_send_values, args=(function, sending, os.getpid()), daemon=True
    )
    try:
        with interrupts_held():
            worker.start()
    except OSError:
        worker = None
    finally:
        sending.close()
    try:
        yield Background(function, worker, receiving)
    finally:
        receiving.close()
        if worker is not None:
            if worker.is_alive():
                worker.terminate()
            worker.join()


def _send_values(function: Callable[[], Iterator[Any]], sending: Any, parent: int) -> None:
    _start_worker(parent)
    try:
        for value in function():
            sending.send((True, value))
    except Exception as exc:
        sending.send((False, exc))
    sending.close()


def _start_pool(jobs: int) -> ProcessPoolExecutor | None:
    """A pool whose `jobs` workers are running; None if the system would not start them
    (no processes, threads or memory left, or no shared memory for the pool's locks),
    once any that did start are stopped."""
    before = set(multiprocessing.active_children())
    pool: ProcessPoolExecutor | None = None
    try:
        with interrupts_held():
            pool = ProcessPoolExecutor(
                max_workers=jobs,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_start_worker,
                initargs=(os.getpid(),),
            )
            pool.submit(int)  # forks every worker and starts the pool's own thread
    except (OSError, RuntimeError):
        for child in set(multiprocessing.active_children()) - before:
            child.terminate()
            child.join()
        if pool is not None:
            with contextlib.suppress(Exception):  # a pool that never started may not stop
                pool.shutdown(wait=False, cancel_futures=True)
        return None
    return pool


def _pooled(
    function: Callable[[Item], Result], items: Sequence[Item], jobs: int, batch_size: int
) -> Generator[Result, None, None]:
    batches = (items[i : i + batch_size] for i in range(0, len(items), batch_size))
    started = _start_pool(jobs)
    if started is None:  # the same results, in this process
        yield from (function(item) for item in items)
        return
    with started as pool:
        # A few batches per worker are in flight; a result is dropped once yielded, so
        # memory holds a window of results, not all of them, however slow the consumer.
        pending: deque[Future[list[Result]]] = deque()
        try:
            for batch in batches:
                pending.append(pool.submit(_run_batch, function, batch))
                if len(pending) >= _IN_FLIGHT_PER_JOB * jobs:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
