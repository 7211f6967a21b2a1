"""The command line: `broadsheet build | check | serve | new | init`.

The only module that prints or picks an exit code (but for Ctrl-C while it is being
imported: `generator.__main__`): 0 clean, 1 some articles were set aside, 2 nothing
could be built, 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TextIO

from generator import __version__
from generator.builder import BuildOptions, BuildReport, build
from generator.config import CONFIG_FILE, load_config
from generator.diagnostics import BuildError
from generator.locks import NOTES
from generator.scaffold import ScaffoldError, init_site, new_article
from generator.writer import MANIFEST

if TYPE_CHECKING:  # the preview (server, watcher) is imported by `serve` alone
    from generator.preview import BuildOutcome

EXIT_OK, EXIT_SET_ASIDE, EXIT_FAILED = 0, 1, 2
EXIT_INTERRUPTED = 130
"""Ctrl-C, as shells report a command it stopped (128 + SIGINT)."""
INTERRUPTED = "build interrupted: output/ holds a working site; the next build finishes it"
SET_ASIDE_NOTE = "articles set aside stay as they were last published, if they were"
"""Said after a build that set articles aside (`BuildOptions.keep_last_good`)."""


def _jobs(text: str) -> int:
    """`--jobs`: a count of worker processes, 0 for one per CPU."""
    try:
        jobs = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"must be 0 (one per CPU) or more, not {jobs}")
    return jobs


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 (any) to 65535, not {port}")
    return port


def _site_path(command: argparse.ArgumentParser) -> None:
    command.add_argument("path", nargs="?", default=".", type=Path, help="site folder (default: .)")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The command line's parser, and each command's own (whose usage its errors show)."""
    parser = argparse.ArgumentParser(
        prog="broadsheet", description="Build a static news site from article files."
    )
    parser.add_argument("--version", action="version", version=f"broadsheet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    build_cmd = commands.add_parser("build", help="build the site into output/")
    check_cmd = commands.add_parser("check", help="validate config and articles; write nothing")
    for command in (build_cmd, check_cmd):
        _site_path(command)
        command.add_argument("--base-url", help="override base_url from site.yaml")
        command.add_argument("--drafts", action="store_true", help="include draft articles")
        command.add_argument("--strict", action="store_true", help="treat warnings as errors")
        command.add_argument(
            "--jobs", "-j", type=_jobs, default=0, metavar="N",
            help="worker processes (default: one per CPU)",
        )  # fmt: skip
    build_cmd.add_argument("-o", "--output", type=Path, help="output folder (default PATH/output)")

    serve_cmd = commands.add_parser(
        "serve", help="build, serve with live reload, and rebuild on every change"
    )
    _site_path(serve_cmd)
    serve_cmd.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)"
    )
    serve_cmd.add_argument(
        "--port",
        type=_port,
        default=8000,
        help="port (default: 8000; the next free one if taken; 0: any)",
    )
    serve_cmd.add_argument("--drafts", action="store_true", help="include draft articles")
    serve_cmd.add_argument("--open", action="store_true", help="open the site in a browser")

    new_cmd = commands.add_parser("new", help="create a new article file dated now")
    new_cmd.add_argument("title", help="the headline")
    new_cmd.add_argument("--topic", action="append", default=[], help="a topic (repeatable)")
    _site_path(new_cmd)

    init_cmd = commands.add_parser("init", help="create a new site that builds at once")
    init_cmd.add_argument("path", type=Path, help="folder for the new site")
    return parser, dict(commands.choices)


def _summary(report: BuildReport) -> str:
    def plural(n: int, word: str) -> str:
        return f"{n} {word}{'' if n == 1 else 's'}"

    parts = [
        plural(report.articles, "article"),
        plural(report.pages, "page"),
        plural(report.feeds, "feed"),
        plural(report.errors, "error"),
        plural(report.warnings, "warning"),
    ]
    line = ", ".join(parts) + f" in {report.seconds:.2f} s"
    if report.written is not None:
        w = report.written
        line += f" ({w.written} written, {w.unchanged} unchanged, {w.removed} removed)"
    return line


def _run_build(
    args: argparse.Namespace, out: TextIO, err: TextIO, leave: list[object] | None
) -> int:
    options = BuildOptions(
        output_dir=getattr(args, "output", None),
        base_url=args.base_url,
        drafts=args.drafts,
        strict=args.strict,
        write=args.command == "build",
        jobs=args.jobs,
        keep_last_good=True,  # a broken edit does not take a live article down
    )
    try:
        report = build(args.path, options, leave=leave)
    except BuildError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=err)
        if args.command == "check":
            print("check failed", file=err)
        elif exc.midway:
            print("build failed midway through its commit: build again to finish it", file=err)
        else:
            print("build failed: nothing was written", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("check interrupted" if args.command == "check" else INTERRUPTED, file=err)
        return EXIT_INTERRUPTED
    for diagnostic in report.diagnostics:
        print(diagnostic, file=err)
    if args.command == "build" and report.written is None:
        print("--strict: problems found, nothing was written", file=err)
    elif args.command == "build" and report.errors:
        print(f"{SET_ASIDE_NOTE}; fix them and build again", file=err)
    print(_summary(report), file=out)
    return report.exit_code


def _shown(path: Path, site_dir: Path) -> str:
    return str(path.relative_to(site_dir) if path.is_relative_to(site_dir) else path)


def _report_outcome(outcome: BuildOutcome, site_dir: Path, out: TextIO, err: TextIO) -> None:
    for diagnostic in outcome.diagnostics:
        print(diagnostic, file=err)
    if outcome.crash:
        print(outcome.crash.rstrip(), file=err)
    stamp = datetime.now().strftime("%H:%M:%S")
    cause = ""
    if outcome.changes is not None:
        changed = outcome.changes.shown
        more = f" (+{len(changed) - 1} more)" if len(changed) > 1 else ""
        cause = f" after a change to {_shown(changed[0], site_dir)}{more}"
        if outcome.took_over:
            cause += ", the build under way stopped for it"
    elif outcome.due:
        cause = " as an article held back for its date came due"
    if outcome.report is None:
        served = (site_dir / "output" / "index.html").is_file()
        what = "still serving the last good site" if served else "no site to serve yet"
        print(f"[{stamp}] build failed{cause}: {what}", file=err)
    else:
        verb = "built" if outcome.changes is None and not outcome.due else "rebuilt"
        print(f"[{stamp}] {verb}{cause}: {_summary(outcome.report)}", file=out)
        if outcome.errors:
            print(f"[{stamp}] {SET_ASIDE_NOTE}", file=err)
    err.flush()
    out.flush()


def _interrupt_once() -> Callable[[int, FrameType | None], None]:
    """A signal handler that interrupts the main thread on the first Ctrl-C or SIGTERM
    and ignores the rest, so repeated signals (`timeout` signals the whole process group
    too) cannot cut the clean stop short."""
    interrupted = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if not interrupted:
            interrupted = True
            raise KeyboardInterrupt

    return handler


SIGNAL_POLL_SECONDS = 0.2


def _wait_for_a_signal() -> None:
    """Sleep until a signal handler raises. In slices: Linux may hand the signal to
    any thread, and Python runs its handler on the main thread only when that thread
    next runs, which a wait without end would never let it do."""
    while True:
        time.sleep(SIGNAL_POLL_SECONDS)


@contextlib.contextmanager
def _notes_shown(err: TextIO) -> Iterator[None]:
    """Show what a build says it waits for (another build holding a lock) on `err`."""
    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("%(message)s"))
    NOTES.addHandler(handler)
    propagate, NOTES.propagate = NOTES.propagate, False  # shown here alone
    try:
        yield
    finally:
        NOTES.removeHandler(handler)
        NOTES.propagate = propagate


def _site_problem(path: Path) -> str | None:
    """Why `path` is not a site folder a command can work on, if it is not."""
    if not path.exists():
        return f"no site folder {path}"
    if not path.is_dir():
        return f"{path} is a file, not a site folder"
    if not (path / CONFIG_FILE).exists():
        start = f"broadsheet init {shlex.quote(str(path))}"
        return f"no {CONFIG_FILE} in {path}: not a site; start one there with: {start}"
    return None


def _run_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    site_dir: Path = args.path.resolve()
    from generator.preview import Preview, PreviewOptions

    options = PreviewOptions(host=args.host, port=args.port, drafts=args.drafts)
    try:
        preview = Preview(site_dir, options, lambda o: _report_outcome(o, site_dir, out, err))
    except OSError as exc:
        print(f"error: cannot listen on {args.host} port {args.port}: {exc}", file=err)
        return EXIT_FAILED
    on_main = threading.current_thread() is threading.main_thread()
    # SIGTERM stops the preview as cleanly as Ctrl-C does.
    handler = _interrupt_once()
    previous = signal.signal(signal.SIGTERM, handler) if on_main else None
    interrupt = signal.signal(signal.SIGINT, handler) if on_main else None
    try:
        preview.start()
        port = preview.server.port
        if args.port not in (0, port):
            print(f"port {args.port} is in use; using port {port}", file=out)
        print(f"serving {site_dir} at {preview.url}", file=out)
        targets = preview.watched
        watched = [_shown(p, site_dir) for p in (*targets.folders, *targets.files) if p.exists()]
        print(f"watching {', '.join(watched)}; press Ctrl-C to stop", file=out, flush=True)
        if args.open:
            import webbrowser  # for `--open` alone, not imported by every command

            webbrowser.open(preview.url)
        _wait_for_a_signal()
    except KeyboardInterrupt:
        pass
    finally:
        if preview.building:
            print("stopping the build under way", file=out, flush=True)
        preview.stop()
        if on_main:
            signal.signal(signal.SIGTERM, previous)
            signal.signal(signal.SIGINT, interrupt)
    built = (preview.output_dir / MANIFEST).is_file()
    ended = "output/ holds the last complete build" if built else "no site was built"
    print(f"stopped; {ended}", file=out, flush=True)
    return EXIT_OK


def _new(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`new`: an article dated now in the site's time zone, in a folder with valid settings."""
    if not args.title.strip():
        print('error: the title is empty; give the headline, as in new "A headline"', file=err)
        return EXIT_FAILED
    try:
        now = datetime.now(load_config(args.path).tz).replace(microsecond=0)
    except BuildError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=err)
        return EXIT_FAILED
    path = new_article(args.path, args.title, tuple(args.topic), now)
    print(f"created {path}", file=out)
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    leave: list[object] | None = None,
) -> int:
    """Run the command `argv`; `leave`, for a process about to exit, as `build` takes it."""
    parser, commands = _parser()
    args, extra = parser.parse_known_args(argv)
    if (
        args.command == "new"
        and len(extra) == 1
        and not extra[0].startswith("-")
        and args.path == Path(".")
    ):
        # `new "Title" --topic T PATH`: argparse settles the optional PATH before
        # it reaches options, so a PATH written after them arrives here.
        args.path = Path(extra.pop())
    if extra:  # shown with the usage of the command given, not of every command
        commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    problem = _site_problem(args.path) if args.command != "init" else None
    if problem:
        print(f"error: {problem}", file=err)
        return EXIT_FAILED
    if args.command in ("build", "check", "serve"):
        with _notes_shown(err):
            if args.command == "serve":
                return _run_serve(args, out, err)
            return _run_build(args, out, err, leave)
    try:
        if args.command == "new":
            return _new(args, out, err)
        for path in init_site(args.path, datetime.now(UTC).replace(microsecond=0)):
            print(f"created {path}", file=out)
        print(f"build it with: broadsheet build {shlex.quote(str(args.path))}", file=out)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    return EXIT_OK


def run() -> NoReturn:
    """The `broadsheet` command: `main`, then an exit that skips the interpreter's
    teardown. A build leaves a large web of objects behind (a second or more at
    100,000 articles to free one by one); the operating system reclaims the memory at
    once (so a build leaves what it made in `left`, unfreed). Output is flushed first,
    and the build has closed its files and cache."""
    left: list[object] = []
    code = main(leave=left)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
