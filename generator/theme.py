"""The theme: finds the template and static folders a site uses.

Owns the lookup order: a site's own `templates/` and `static/` override the theme's
files of the same name; a theme is a folder in the site's `themes/` or a built-in one.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

from generator.cache import changed_lately
from generator.config import CONFIG_FILE, line_of
from generator.diagnostics import BuildError, Diagnostic, error, is_utf8, shown_name, warning
from generator.model import CopiedFile

_PACKAGE = Path(__file__).resolve().parent
# Installed wheels carry the themes inside the package; a source checkout has them
# beside it.
BUILTIN_THEME_DIRS = (_PACKAGE / "themes", _PACKAGE.parent / "themes")


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    template_dirs: tuple[Path, ...]
    """Site first, then theme: the first folder holding a name wins."""
    static_dirs: tuple[Path, ...]
    """Theme first, then site: later folders overwrite earlier files."""
    theme_templates: Path
    root_dir: Path
    """The site's `root/`: files published at the top of the site as they are."""


def find_theme(site_dir: Path, name: str) -> Theme:
    candidates = [site_dir / "themes" / name, *(d / name for d in BUILTIN_THEME_DIRS)]
    for folder in candidates:
        if (folder / "templates").is_dir():
            return Theme(
                name=name,
                template_dirs=(site_dir / "templates", folder / "templates"),
                static_dirs=(folder / "static", site_dir / "static"),
                theme_templates=folder / "templates",
                root_dir=site_dir / ROOT_DIR,
            )
    if (site_dir / "themes" / name).is_dir():
        problem = (
            f"'theme' names the theme in themes/{name}/, which has no templates/ folder; "
            "a theme holds its templates in templates/ (and its files in static/)"
        )
    else:
        problem = (
            f"'theme' names an unknown theme {name!r}; put it in themes/{name}/ or use 'default'"
        )
    raise BuildError((error(CONFIG_FILE, line_of(site_dir, "theme"), problem),))


ROOT_DIR = "root"
DOT_NAMES_PUBLISHED = frozenset({".well-known", ".htaccess", ".nojekyll"})
"""Names starting with a dot that `root/` publishes (others, `.git` say, are skipped)."""


def collect_static(theme: Theme) -> tuple[tuple[CopiedFile, ...], tuple[Diagnostic, ...]]:
    """Every static file under `static/`, the site's overriding the theme's, and every
    file of the site's `root/` (published at the top of the site); and a warning for
    each entry skipped, as in `content/`: a symlink leading out of the site or theme
    folder, a linked folder, anything but a regular file."""
    files: dict[str, CopiedFile] = {}
    skipped: list[Diagnostic] = []
    for folder in theme.static_dirs:
        _collect(folder, "static/", files, skipped)
    _collect(theme.root_dir, "", files, skipped, DOT_NAMES_PUBLISHED)
    return tuple(files[k] for k in sorted(files)), tuple(skipped)


def _collect(
    folder: Path,
    prefix: str,
    files: dict[str, CopiedFile],
    skipped: list[Diagnostic],
    dot_names: frozenset[str] = frozenset(),
) -> None:
    """Add the files of `folder` to `files`, under `prefix`, and why any was skipped to
    `skipped`. Names starting with a dot are left out, but `dot_names`."""
    if not folder.is_dir():
        return
    owner = Path(os.path.realpath(folder.parent))
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(p.startswith(".") and p not in dot_names for p in relative.parts):
            continue
        shown = f"{folder.name}/{relative.as_posix()}"
        if not shown.isascii() and not is_utf8(shown):
            if not path.is_dir():  # each file in a folder so named is reported
                why = "skipped: the name is not UTF-8; rename it"
                skipped.append(warning(shown_name(shown), None, why))
            continue
        problem = _unpublishable(path, owner, folder.name)
        target = prefix + relative.as_posix()
        if not problem and not prefix and target.startswith("static/") and path.is_file():
            problem = "skipped: static files go in static/; move it there"
        if problem:
            skipped.append(warning(shown, None, problem))
        elif path.is_file():
            files[target] = CopiedFile(target, str(path))


def _unpublishable(path: Path, owner: Path, folder: str) -> str | None:
    """Why the entry at `path` of the site's `folder` (`static`, `root`) is not published;
    None if it is (or is a folder)."""
    if path.is_symlink():
        if not Path(os.path.realpath(path)).is_relative_to(owner):
            return "skipped: a symlink pointing outside the site; copy the file in if it belongs"
        if path.is_dir():
            return f"skipped: a linked folder; copy it into {folder}/ to publish it"
    if path.is_dir() or path.is_file():
        return None
    if path.is_symlink():
        return "skipped: a link leading nowhere; fix or remove it"
    return "skipped: not a regular file; replace it with a file"


def skipped_templates(theme: Theme) -> tuple[Diagnostic, ...]:
    """A warning for each template no page or template can use: one whose name is not
    UTF-8 (`generator.render.check_templates` leaves it alone), and a link leading
    nowhere (a theme's template of its name is used instead); and for a site's
    `templates`, `static` or `root` that is a file, not a folder."""
    site_dir = theme.template_dirs[0].parent
    skipped = [
        warning(name, None, f"skipped: {_not_a_folder(site_dir / name)}")
        for name in ("templates", "static", ROOT_DIR)
        if os.path.lexists(site_dir / name) and not (site_dir / name).is_dir()
    ]
    for folder in theme.template_dirs:
        files, _, others = _walked(folder)
        misnamed = [p for p in files if not is_utf8(p.relative_to(folder).as_posix())]
        reasons = [(path, "the name is not UTF-8; rename it") for path in misnamed]
        reasons += [
            (path, "a link leading nowhere; fix or remove it")
            if path.is_symlink()
            else (path, "not a regular file; replace it with a file")
            for path in others
        ]
        for path, why in sorted(reasons):
            shown = path.relative_to(site_dir) if path.is_relative_to(site_dir) else path
            skipped.append(warning(shown_name(shown.as_posix()), None, f"skipped: {why}"))
    return tuple(skipped)


def _not_a_folder(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a link leading nowhere; fix or remove it"
    return "a file, not a folder; make it a folder"


def static_signature(theme: Theme) -> str:
    """Digest of the name, size and modification time of every static and root file; a
    digest no later signature equals if one changed so lately that its times could not
    tell another change (`changed_lately`)."""
    now_ns = time.time_ns()
    digest = hashlib.sha256()
    for folder in (*theme.static_dirs, theme.root_dir):
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            try:
                stat = path.stat()
            except OSError:  # a link leading nowhere
                stat = path.lstat()
            line = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0"
            digest.update(line.encode("utf-8", "surrogateescape"))
            if changed_lately(stat.st_mtime_ns, stat.st_ctime_ns, now_ns):
                digest.update(os.urandom(16))
    return digest.hexdigest()


def source_identity(source: str, status: os.stat_result, now_ns: int) -> str:
    """What tells whether the static or root file at `source`, of this `status`, has
    changed since: its path, size, modification and change time, as the build cache
    tells an article file; "" (which tells nothing) if it changed so lately, as of
    `now_ns` (the clock's time before it was measured), that another change could leave
    them as they are (`changed_lately`)."""
    if changed_lately(status.st_mtime_ns, status.st_ctime_ns, now_ns):
        return ""
    line = f"{source}\0{status.st_size}\0{status.st_mtime_ns}\0{status.st_ctime_ns}"
    return hashlib.sha256(line.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True, slots=True)
class TemplateDigests:
    """Digests of the templates the site can use: of them all, and of the file each name
    leads to, as the template loader finds it (the site's own before the theme's; the
    theme's own under `theme/`)."""

    whole: str
    """Of every template, and of the names of entries that are not templates (links
    leading nowhere), as the build warns of them: any change shows in it."""
    by_name: dict[str, str]

    def of(self, name: str) -> str:
        """The digest of the template `name` leads to; for a name that leads to none (or
        that is spelled otherwise than as a file's path under its folder), that of every
        template, so that any change counts."""
        return self.by_name.get(name) or "*" + self.whole


def template_digests(theme: Theme) -> TemplateDigests:
    """The digests of the theme's templates, read now."""
    digest = hashlib.sha256()
    read: dict[Path, bytes] = {}
    names: set[str] = set()
    for folder in theme.template_dirs:
        files, _, others = _walked(folder)
        for path in files:
            data = read[path] = path.read_bytes()
            relative = path.relative_to(folder)
            names.add(relative.as_posix())
            digest.update(str(relative).encode("utf-8", "surrogateescape") + b"\0" + data)
        for path in others:
            digest.update(b"-" + str(path.relative_to(folder)).encode("utf-8", "surrogateescape"))
    by_name: dict[str, str] = {}
    lookups = [("", theme.template_dirs), ("theme/", (theme.theme_templates,))]
    for name in names:
        for prefix, folders in lookups:
            # The first folder holding a file of that name, as the loader looks.
            found = next((f / name for f in folders if (f / name).is_file()), None)
            if found is not None:
                if found not in read:
                    read[found] = found.read_bytes()
                by_name[prefix + name] = hashlib.sha256(read[found]).hexdigest()[:32]
    return TemplateDigests(digest.hexdigest(), by_name)


def linked_template_folders(theme: Theme) -> tuple[Path, ...]:
    """The folders that links in the theme's template folders lead to, outside them:
    what a preview watches besides them."""
    found: dict[Path, None] = {}
    for folder in theme.template_dirs:
        inside = Path(os.path.realpath(folder))
        for real in _walked(folder)[1]:
            if not Path(real).is_relative_to(inside):
                found[Path(real)] = None
    return tuple(found)


def _walked(folder: Path) -> tuple[list[Path], list[str], list[Path]]:
    """Every file under a template folder, in name order, through linked folders too (as
    templates are found: a site may share its partials through a link), each folder
    once, so a link to a folder holding it leads nowhere new; the real paths of the
    folders walked; and the entries that are neither (links leading nowhere, mostly)."""
    files: list[Path] = []
    others: list[Path] = []
    seen: dict[str, None] = {}
    for top, folders, names in os.walk(folder, followlinks=True):
        real = os.path.realpath(top)
        if real in seen:
            folders.clear()
            continue
        seen[real] = None
        for name in names:
            path = Path(top, name)
            (files if path.is_file() else others).append(path)
    return sorted(files), list(seen), sorted(others)
