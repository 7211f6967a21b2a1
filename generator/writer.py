"""The writer: puts the built files into the output folder, safely.

The only stage that writes `output/`. New bytes are first written to temporary
files (`.NAME.broadsheet-tmp`) beside their targets; only when the whole build has
succeeded are they renamed into place (deepest paths first, so pages exist before the
listings and home page that link to them), then files of an earlier build that no
longer belong to the site are removed, then the manifest is replaced. A failed build
leaves the previous site as it was; a file is never seen half-written. Files whose
bytes did not change are not touched, so a sync to a host uploads only what changed.

`output/.broadsheet-manifest` lists each file this tool wrote with its SHA-256; files
not in it are never deleted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from types import TracebackType

from generator.diagnostics import BuildError, error

MANIFEST = ".broadsheet-manifest"
TEMPORARY_SUFFIX = ".broadsheet-tmp"


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: int
    unchanged: int
    removed: int


def safe_target(output_dir: Path, relative: str) -> Path:
    """The path of `relative` inside `output_dir`; `BuildError` if it would leave it."""
    parts = PurePosixPath(relative).parts
    unsafe = (
        not parts
        or relative.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or "\\" in relative
        or "\0" in relative
        or parts[0] == MANIFEST
        or parts[-1].endswith(TEMPORARY_SUFFIX)
    )
    if unsafe:
        raise BuildError((error(relative, None, "refusing to write outside the output folder"),))
    return output_dir.joinpath(*parts)


def _failure(exc: OSError, fallback: Path) -> BuildError:
    where = exc.filename or str(fallback)
    return BuildError((error(str(where), None, f"cannot write output: {exc.strerror}"),))


class OutputWriter:
    """Collects a build's files, then commits them in one step (see the module text).

    Use as a context manager: leaving it by an exception discards everything staged.
    """

    def __init__(self, output_dir: Path, prune: bool = True) -> None:
        self._output = output_dir
        self._prune = prune
        self._folders: set[Path] = set()
        self._previous: dict[str, str] = {}
        self._current: dict[str, str] = {}
        self._staged: list[str] = []
        self._created = False

    def __enter__(self) -> OutputWriter:
        self._created = not self._output.exists()
        try:
            self._output.mkdir(parents=True, exist_ok=True)
            self._previous = _read_manifest(self._output)
        except OSError as exc:
            raise _failure(exc, self._output) from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if kind is None:
            return
        for relative in self._staged:
            _temporary(self._output / relative).unlink(missing_ok=True)
        if self._created:
            shutil.rmtree(self._output, ignore_errors=True)  # it held only what we staged

    def keep(self, relative: str, digest: str) -> bool:
        """Keep the file at `relative` as it is, if an earlier build wrote it with the
        SHA-256 `digest` and it is still there."""
        if self._previous.get(relative) != digest:
            return False
        if not safe_target(self._output, relative).is_file():
            return False
        self._current[relative] = digest
        return True

    def add(self, relative: str, data: bytes) -> str:
        """Stage `data` for `relative`, unless the file there already holds these bytes.
        Returns the SHA-256 of `data`."""
        target = safe_target(self._output, relative)
        digest = hashlib.sha256(data).hexdigest()
        self._current[relative] = digest
        if self._previous.get(relative) == digest and target.is_file():
            return digest
        if relative not in self._previous and _same_bytes(target, data):
            return digest
        staged = _temporary(target)
        try:
            if target.parent not in self._folders:
                target.parent.mkdir(parents=True, exist_ok=True)
                self._folders.add(target.parent)
            staged.write_bytes(data)
        except OSError as exc:
            raise _failure(exc, staged) from None
        self._staged.append(relative)
        return digest

    def commit(self) -> WriteReport:
        """Move staged files into place, remove stale ones, write the manifest."""
        try:
            for relative in sorted(self._staged, key=lambda p: (-p.count("/"), p)):
                target = self._output / relative
                os.replace(_temporary(target), target)
            stale = sorted(set(self._previous) - set(self._current)) if self._prune else []
            for relative in stale:
                _remove(self._output, relative)
            if not self._prune:
                self._current = {**self._previous, **self._current}
            _write_manifest(self._output, self._current)
        except OSError as exc:
            raise _failure(exc, self._output) from None
        unchanged = len(self._current) - len(self._staged)
        return WriteReport(len(self._staged), max(0, unchanged), len(stale))


def manifest_digest(output_dir: Path) -> str | None:
    """Digest of the manifest, if every file it lists is still in the output folder."""
    try:
        data = (output_dir / MANIFEST).read_bytes()
    except OSError:
        return None
    for relative in _read_manifest(output_dir):
        if not (output_dir / relative).is_file():
            return None
    return hashlib.sha256(data).hexdigest()


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}{TEMPORARY_SUFFIX}")


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _read_manifest(output_dir: Path) -> dict[str, str]:
    try:
        text = (output_dir / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    entries = {}
    for line in text.splitlines():
        digest, _, relative = line.partition(" ")
        if len(digest) == 64 and relative:
            entries[relative] = digest
    return entries


def _write_manifest(output_dir: Path, entries: dict[str, str]) -> None:
    text = "".join(f"{entries[p]} {p}\n" for p in sorted(entries))
    temporary = output_dir / f".{MANIFEST}.{os.getpid()}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, output_dir / MANIFEST)


def _remove(output_dir: Path, relative: str) -> None:
    try:
        target = safe_target(output_dir, relative)
    except BuildError:
        return  # a manifest line this tool would not write: never delete it
    target.unlink(missing_ok=True)
    folder = target.parent
    while folder != output_dir and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
