"""The writer: puts the built files into the output folder, safely.

The only stage that writes `output/`. Each file is written to a temporary name
beside its target and renamed over it, so no reader (nor a crash) ever sees half a
file; files whose bytes are unchanged are not touched; files a previous build wrote
that are no longer part of the site are removed (and nothing else).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from generator.diagnostics import BuildError, error
from generator.model import OutputFile

MANIFEST = ".broadsheet-manifest"


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: int
    unchanged: int
    removed: int


def safe_target(output_dir: Path, relative: str) -> Path:
    """The path of `relative` inside `output_dir`; `BuildError` if it would leave it."""
    parts = PurePosixPath(relative).parts
    if (
        not parts
        or relative.startswith("/")
        or any(p in ("", ".", "..") for p in parts)
        or "\\" in relative
        or "\0" in relative
    ):
        raise BuildError((error(relative, None, "refusing to write outside the output folder"),))
    return output_dir.joinpath(*parts)


def write_site(output_dir: Path, files: tuple[OutputFile, ...], prune: bool = True) -> WriteReport:
    """Write `files` into `output_dir`; `BuildError` (nothing half-written) on failure.

    With `prune`, files an earlier build wrote that are not in `files` are removed;
    without it they stay, and stay listed in the manifest for a later pruning build.
    """
    targets = [(safe_target(output_dir, f.path), f) for f in files]
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        previous = _read_manifest(output_dir)
        written = sum(_write_if_changed(target, f.data) for target, f in targets)
        current = {f.path for f in files}
        stale = sorted(previous - current) if prune else []
        for relative in stale:
            _remove(output_dir, relative)
        if not prune:
            current |= previous
        _write_if_changed(output_dir / MANIFEST, "\n".join(sorted(current)).encode() + b"\n")
    except OSError as exc:
        where = exc.filename or str(output_dir)
        message = f"cannot write output: {exc.strerror}"
        raise BuildError((error(str(where), None, message),)) from None
    return WriteReport(written=written, unchanged=len(files) - written, removed=len(stale))


def _write_if_changed(target: Path, data: bytes) -> bool:
    try:
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return True


def _read_manifest(output_dir: Path) -> set[str]:
    try:
        text = (output_dir / MANIFEST).read_text(encoding="utf-8")
    except FileNotFoundError:
        return set()
    return {line for line in text.splitlines() if line}


def _remove(output_dir: Path, relative: str) -> None:
    try:
        target = safe_target(output_dir, relative)
    except BuildError:
        return  # a manifest line we did not write: never delete outside the output
    target.unlink(missing_ok=True)
    folder = target.parent
    while folder != output_dir and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
