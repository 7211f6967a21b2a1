"""Reading files keeps memory small: many article files take few memory maps, and a
large static file is copied without ever being held whole."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SITE_YAML, article
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


_PEAK = """
import resource, sys
from pathlib import Path
from generator import BuildOptions, build
site = Path(sys.argv[1])
build(site, BuildOptions(jobs=1))
(site / "content/b.md").write_text(sys.argv[2])
build(site, BuildOptions(jobs=1))
print(max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF,
    resource.RUSAGE_CHILDREN)))
"""
LARGE = 64 * 1024 * 1024


def _site_with_image(folder: Path, size: int) -> Path:
    """A site whose `static/` holds an image of `size` bytes: sparse, with a mark every
    8 MiB, so that a copy that drops or moves a chunk differs."""
    (folder / "content").mkdir(parents=True)
    (folder / "site.yaml").write_text(SITE_YAML)
    (folder / "content/a.md").write_text(article())
    (folder / "static").mkdir()
    with open(folder / "static/photo.jpg", "wb") as image:
        image.truncate(size)
        for offset in range(0, size, 8 * 1024 * 1024):
            image.seek(offset)
            image.write(b"mark %d" % offset)
    return folder


def _peak_kib(site: Path) -> int:
    """The peak memory, in KiB, of a process that builds the site, then builds it again
    with an article more."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    again = article("Another", "2024-05-02T09:00:00Z")
    result = subprocess.run(
        [sys.executable, "-c", _PEAK, str(site), again],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return int(result.stdout.split()[-1])


def test_a_large_static_file_is_published_byte_for_byte_without_being_held_in_memory(
    tmp_path: Path,
) -> None:
    small = _peak_kib(_site_with_image(tmp_path / "small", 1024))
    large_site = _site_with_image(tmp_path / "large", LARGE)
    large = _peak_kib(large_site)
    copy = large_site / "output/static/photo.jpg"
    assert filecmp.cmp(large_site / "static/photo.jpg", copy, shallow=False)
    assert (large - small) * 1024 < LARGE // 2, (small, large)
