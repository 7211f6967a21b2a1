"""The worker pool: order, errors, and fresh workers for long runs."""

from __future__ import annotations

import errno
import itertools
import multiprocessing
import multiprocessing.synchronize
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import process as futures_process
from pathlib import Path

import pytest

from generator import parallel
from generator.parallel import Background, in_background, parallel_map, shared


def _square_and_pid(number: int) -> tuple[int, int]:
    return number * number + shared("offset"), os.getpid()


def test_results_come_back_in_order_from_the_workers() -> None:
    results = list(parallel_map(_square_and_pid, range(1000), 2, share={"offset": 1}))
    assert [value for value, _ in results] == [n * n + 1 for n in range(1000)]
    workers = {pid for _, pid in results}
    assert os.getpid() not in workers and 1 <= len(workers) <= 2


def test_fresh_workers_take_over_every_per_pool_items() -> None:
    results = list(parallel_map(_square_and_pid, range(1000), 2, share={"offset": 0}, per_pool=256))
    assert [value for value, _ in results] == [n * n for n in range(1000)]
    segments = [{pid for _, pid in results[i : i + 256]} for i in range(0, 1000, 256)]
    for earlier, later in itertools.pairwise(segments):
        assert not earlier & later


def _fail_on_seven(number: int) -> int:
    if number == 7:
        raise LookupError("seven")
    return number


def test_a_worker_error_is_raised_in_the_parent_with_its_type() -> None:
    with pytest.raises(LookupError, match="seven"):
        list(parallel_map(_fail_on_seven, range(500), 2))


def _refuse_fork() -> int:
    raise OSError(errno.EAGAIN, "Resource temporarily unavailable")


def _refuse_thread(self: object) -> None:
    raise RuntimeError("can't start new thread")


def _refuse_semaphore(self: object, *args: object, **kwargs: object) -> None:
    raise OSError(30, "Read-only file system")  # no writable /dev/shm, in a container say


@pytest.mark.parametrize("failure", ["no fork", "second fork", "no thread", "no shared memory"])
def test_when_workers_cannot_start_the_items_are_mapped_here(
    monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    real_fork = os.fork
    forks: list[int] = []

    def fork_once() -> int:
        forks.append(1)
        return real_fork() if len(forks) == 1 else _refuse_fork()

    if failure == "no fork":
        monkeypatch.setattr(os, "fork", _refuse_fork)
    elif failure == "second fork":
        monkeypatch.setattr(os, "fork", fork_once)
    elif failure == "no shared memory":
        monkeypatch.setattr(multiprocessing.synchronize.SemLock, "__init__", _refuse_semaphore)
    else:
        monkeypatch.setattr(futures_process._ExecutorManagerThread, "start", _refuse_thread)
    before = set(multiprocessing.active_children())
    results = list(parallel_map(_square_and_pid, range(500), 2, share={"offset": 0}))
    assert results == [(n * n, os.getpid()) for n in range(500)]
    assert set(multiprocessing.active_children()) == before  # none left waiting for work


def _pid_and_offset() -> Iterator[tuple[int, int]]:
    yield os.getpid(), shared("offset")


def test_a_background_call_runs_in_another_process_while_this_one_goes_on() -> None:
    with in_background(_pid_and_offset, {"offset": 5}) as result:
        here = os.getpid()
        pid, offset = result()
    assert pid != here and offset == 5


def _fail() -> Iterator[int]:
    yield 1
    raise LookupError("in the background")


def test_a_background_error_is_raised_here_with_its_type() -> None:
    with in_background(_fail, {}) as result, pytest.raises(LookupError, match="background"):
        assert result() == 1
        result()


def _dies_in_a_worker_after_one() -> Iterator[tuple[int, int]]:
    yield os.getpid(), 1
    if shared("in_worker") != os.getpid():
        os.kill(os.getpid(), signal.SIGKILL)
    yield os.getpid(), 2
    yield os.getpid(), 3


def test_when_the_background_process_dies_the_rest_is_made_here() -> None:
    here = os.getpid()
    with in_background(_dies_in_a_worker_after_one, {"in_worker": here}) as result:
        first = result()
        assert first[0] != here and first[1] == 1
        assert result() == (here, 2)  # from the start, the first value skipped
        assert result() == (here, 3)


def test_when_no_process_can_start_the_call_is_made_here(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "fork", _refuse_fork)
    with in_background(_pid_and_offset, {"offset": 2}) as result:
        assert result() == (os.getpid(), 2)


def _one_then_when_released() -> Iterator[int]:
    yield 1
    gate: Path = shared("gate")
    while not gate.exists():
        time.sleep(0.01)
    yield os.getpid()


def _wait_until_ready(result: Background[int]) -> None:
    deadline = time.monotonic() + 30
    while not result.ready() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_each_background_value_is_ready_once_sent(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    with in_background(_one_then_when_released, {"gate": gate}) as result:
        _wait_until_ready(result)
        assert result() == 1
        time.sleep(0.2)
        assert not result.ready()  # the second waits for the gate
        gate.touch()
        _wait_until_ready(result)
        assert result.ready()
        assert result() != os.getpid()


def test_a_background_call_that_is_made_here_is_ready_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "fork", _refuse_fork)
    with in_background(_pid_and_offset, {"offset": 3}) as result:
        assert result.ready()
        assert result() == (os.getpid(), 3)


def _sleep() -> Iterator[None]:
    time.sleep(60)
    yield None


def test_a_background_process_still_working_is_stopped_on_the_way_out() -> None:
    before = set(multiprocessing.active_children())
    with pytest.raises(KeyError), in_background(_sleep, {}):
        (worker,) = set(multiprocessing.active_children()) - before
        raise KeyError("the caller failed")
    assert worker.exitcode == -signal.SIGTERM
    assert set(multiprocessing.active_children()) == before


def _signals(_: object = None) -> tuple[object, object, int]:
    return signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM), os.getpid()


def _signals_in_background() -> Iterator[tuple[object, object, int]]:
    yield _signals()


def test_workers_leave_ctrl_c_to_the_build_and_stop_quietly() -> None:
    # A terminal's Ctrl-C reaches every process of the command: workers would each print
    # a KeyboardInterrupt traceback, and one stopped by SIGTERM the command's handler's.
    previous = signal.signal(signal.SIGTERM, lambda *_: None)
    try:
        mapped = list(parallel_map(_signals, range(200), 2))
        with in_background(_signals_in_background, {}) as background:
            beside = background()
    finally:
        signal.signal(signal.SIGTERM, previous)
    for interrupt, terminate, pid in [*mapped, beside]:
        assert pid != os.getpid()
        assert (interrupt, terminate) == (signal.SIG_IGN, signal.SIG_DFL)


def test_a_worker_whose_build_died_before_it_was_set_up_ends_at_once() -> None:
    context = multiprocessing.get_context("fork")
    orphan = context.Process(target=parallel._start_worker, args=(-1,))  # not its parent
    orphan.start()
    orphan.join(10)
    child = context.Process(target=parallel._start_worker, args=(os.getpid(),))
    child.start()
    child.join(10)
    assert (orphan.exitcode, child.exitcode) == (1, 0)


def _mask_and_pid(item: int) -> tuple[bool, int]:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, set()), os.getpid()


def test_ctrl_c_while_workers_fork_waits_for_them_then_stops_the_build() -> None:
    reached = False
    with pytest.raises(KeyboardInterrupt), parallel.interrupts_held():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        reached = True  # not interrupted in here
    assert reached
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())  # let go
    # Workers forked while it was held back do not keep it held back.
    assert all(not held for held, _ in parallel_map(_mask_and_pid, range(300), 2))
