"""Reading many article files keeps the process's memory maps few."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from generator.loader import _read

MAPS = Path(f"/proc/{os.getpid()}/maps")


def _maps() -> int:
    return len(MAPS.read_text().splitlines())


@pytest.mark.skipif(not MAPS.exists(), reason="needs Linux's /proc")
def test_reading_thousands_of_files_does_not_take_a_memory_map_each(tmp_path: Path) -> None:
    # Linux allows a process about 65,000 maps; a build of 100,000 articles keeps every
    # file's bytes until they are parsed, so each read must not end up in a map of its own.
    files = []
    for number in range(3000):
        path = tmp_path / f"a{number}.md"
        path.write_bytes(b"---\ntitle: T\npublishedDateTime: 2024-01-01\n---\n" + b"x" * 4000)
        files.append(path)
    before = _maps()
    kept = [_read(path, path.name, tmp_path, 2_000_000)[0] for path in files]
    assert all(raw is not None and raw.endswith(b"x" * 4000) for raw in kept)
    assert _maps() - before < 300


def test_a_file_that_grows_while_read_is_still_held_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.md"
    path.write_bytes(b"x" * 100)
    real_stat = Path.stat

    class Grown:
        """The file measured at 10 bytes: it grew to 100 before it was read."""

        def __init__(self, status: os.stat_result) -> None:
            self._status = status

        def __getattr__(self, name: str) -> object:
            return 10 if name == "st_size" else getattr(self._status, name)

    def stat(self: Path, *, follow_symlinks: bool = True) -> object:
        return Grown(real_stat(self, follow_symlinks=follow_symlinks))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "stat", stat)
        raw, problem = _read(path, "big.md", tmp_path, 50)
    assert raw is None
    assert problem is not None and "over the max_file_size limit" in problem.message
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Path, "stat", stat)
        raw, problem = _read(path, "big.md", tmp_path, 1000)
    assert raw == b"x" * 100 and problem is None
