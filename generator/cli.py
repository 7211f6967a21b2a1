"""The command line: `broadsheet build | check | new | init`.

The only module that prints or picks an exit code: 0 clean, 1 some articles were set
aside, 2 nothing could be built.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TextIO

from generator import __version__
from generator.build import BuildOptions, BuildReport, build
from generator.config import load_config
from generator.diagnostics import BuildError
from generator.scaffold import ScaffoldError, init_site, new_article

EXIT_OK, EXIT_SET_ASIDE, EXIT_FAILED = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="broadsheet", description="Build a static news site from article files."
    )
    parser.add_argument("--version", action="version", version=f"broadsheet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    build_cmd = commands.add_parser("build", help="build the site into output/")
    check_cmd = commands.add_parser("check", help="validate config and articles; write nothing")
    for command in (build_cmd, check_cmd):
        command.add_argument("path", nargs="?", default=".", type=Path, help="site folder")
        command.add_argument("--base-url", help="override base_url from site.yaml")
        command.add_argument("--drafts", action="store_true", help="include draft articles")
        command.add_argument("--strict", action="store_true", help="treat warnings as errors")
    build_cmd.add_argument("-o", "--output", type=Path, help="output folder (default PATH/output)")

    new_cmd = commands.add_parser("new", help="create a new article file dated now")
    new_cmd.add_argument("title")
    new_cmd.add_argument("--topic", action="append", default=[], help="a topic (repeatable)")
    new_cmd.add_argument("path", nargs="?", default=".", type=Path, help="site folder")

    init_cmd = commands.add_parser("init", help="create a new site that builds at once")
    init_cmd.add_argument("path", type=Path, help="folder for the new site")
    return parser


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


def _run_build(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    options = BuildOptions(
        output_dir=getattr(args, "output", None),
        base_url=args.base_url,
        drafts=args.drafts,
        strict=args.strict,
        write=args.command == "build",
    )
    try:
        report = build(args.path, options)
    except BuildError as exc:
        for diagnostic in exc.diagnostics:
            print(diagnostic, file=err)
        print("build failed: nothing was written", file=err)
        return EXIT_FAILED
    for diagnostic in report.diagnostics:
        print(diagnostic, file=err)
    if args.command == "build" and report.written is None:
        print("--strict: problems found, nothing was written", file=err)
    print(_summary(report), file=out)
    return report.exit_code


def _site_now(site_dir: Path) -> datetime:
    try:
        return datetime.now(load_config(site_dir).tz).replace(microsecond=0)
    except BuildError:
        return datetime.now().astimezone().replace(microsecond=0)


def main(
    argv: Sequence[str] | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    parser = _parser()
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
    if extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command in ("build", "check"):
        return _run_build(args, out, err)
    try:
        if args.command == "new":
            path = new_article(args.path, args.title, tuple(args.topic), _site_now(args.path))
            print(f"created {path}", file=out)
        else:
            for path in init_site(args.path, datetime.now().astimezone().replace(microsecond=0)):
                print(f"created {path}", file=out)
            print(f"build it with: broadsheet build {args.path}", file=out)
    except ScaffoldError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_FAILED
    return EXIT_OK
