"""Rendering: `Page` values made into HTML bytes with Jinja2.

Owns the template environment (autoescape, `StrictUndefined`, the site's templates
before the theme's), the filters themes use for URLs and dates, and the record of
what a page's templates read (which `site` attributes; whether any article's links;
which templates they loaded).
A template mistake becomes a `BuildError` naming the template and line.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import traceback
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache
import jinja2.ext
import jinja2.loaders
import jinja2.nodes
import jinja2.parser
import jinja2.utils

from generator.config import SiteConfig
from generator.diagnostics import BuildError, Diagnostic, error, is_utf8
from generator.model import Article, BodyOf, Page, Site, showing, with_body
from generator.parallel import parallel_map, shared
from generator.theme import Theme
from generator.urls import absolute_link_to, link_to
from generator.version import __version__

_LOOKUP, _KEEP = "_stored_fragment", "_store_fragment"


def _compiler_stamp() -> str:
    """What compiled templates depend on besides their source: Jinja, and this module
    (the environment's options and the `cache` tag), whose own bytes are hashed so
    that a changed extension never runs templates compiled for the old one."""
    stamp = hashlib.sha256(f"{jinja2.__version__}|{__version__}|".encode())
    with contextlib.suppress(OSError):
        stamp.update(Path(__file__).read_bytes())
    return stamp.hexdigest()[:16]


_COMPILED_SUFFIX = f".{_compiler_stamp()}.cache"
"""Ends the name of every compiled template kept between builds, after a digest of the
settings; others are deleted."""


class FragmentCache(jinja2.ext.Extension):
    """`{% cache key, ... %}...{% endcache %}`: renders the block once per build and
    process for each key. The key must name everything the block shows (an article's
    `path` and `source_hash` identify it within one build)."""

    tags = {"cache"}  # noqa: RUF012 - Jinja's own attribute

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        self._store: dict[tuple[object, ...], tuple[str, frozenset[str]]] = {}
        """Each block rendered, with the `site` attributes it read."""
        self._reading: list[set[str]] = []
        """What the pages read of `site` before each block being rendered began."""
        # Filters, which compiled templates call directly (a call of a global or a
        # method goes through the context's dispatch each time).
        environment.filters[_LOOKUP] = self._lookup
        environment.filters[_KEEP] = self._keep

    def parse(self, parser: jinja2.parser.Parser) -> list[jinja2.nodes.Node]:
        # A lookup, a block rendering into the same variable only when the lookup found
        # nothing, and that variable's output: no macro is made for the block each
        # time, as for `{% call %}`.
        line = next(parser.stream).lineno
        key = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            key.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        nodes, name = jinja2.nodes, "_fragment_" + parser.free_identifier().name

        def filtered(value: jinja2.nodes.Expr, name: str) -> jinja2.nodes.Filter:
            return nodes.Filter(value, name, [], [], None, None)

        found = nodes.Name(name, "load")
        lookup = nodes.Assign(nodes.Name(name, "store"), filtered(nodes.List(key), _LOOKUP))
        kept = nodes.Assign(
            nodes.Name(name, "store"),
            filtered(nodes.Tuple([nodes.List(key), found], "load"), _KEEP),
        )
        fill = [nodes.AssignBlock(nodes.Name(name, "store"), None, body), kept]
        missing = nodes.Test(found, "none", [], [], None, None)
        steps = (lookup, nodes.If(missing, fill, [], []), nodes.Output([found]))
        return [step.set_lineno(line) for step in steps]

    # Passed the context (also so that Jinja never calls them while compiling a
    # template: it folds filters of constants into their values). A page that takes a
    # stored block is noted as reading what the block read of `site`, as the page that
    # rendered it was, so a change to that attribute renders both again.
    @jinja2.pass_context
    def _lookup(self, context: jinja2.runtime.Context, key: list[object]) -> str | None:
        stored = self._store.get(tuple(key))
        recorder = context.get("site")
        if not isinstance(recorder, RecordingSite):
            return stored[0] if stored else None
        if stored is None:  # the block renders now: note what it alone reads
            self._reading.append(recorder.used)
            recorder.used = set()
            return None
        recorder.used.update(stored[1])
        return stored[0]

    @jinja2.pass_context
    def _keep(self, context: jinja2.runtime.Context, entry: tuple[list[object], str]) -> str:
        key, fragment = entry
        recorder = context.get("site")
        read: frozenset[str] = frozenset()
        if isinstance(recorder, RecordingSite) and self._reading:
            read = frozenset(recorder.used)
            recorder.used = self._reading.pop() | read
        self._store[tuple(key)] = (fragment, read)
        return fragment


def display_date(moment: datetime) -> str:
    return _display_day(moment.year, moment.month, moment.day)


@functools.lru_cache(maxsize=8192)
def _display_day(year: int, month: int, day: int) -> str:
    # Pages show a few thousand days many times over; `strftime` is slow.
    return f"{day} {date(year, month, day):%B %Y}"


def display_time(moment: datetime) -> str:
    return f"{moment.hour:02d}:{moment.minute:02d}"


def news_article_data(config: SiteConfig) -> Callable[[Article], dict[str, object]]:
    """The schema.org `NewsArticle` data of an article's page, for a theme to show as
    JSON-LD (`{{ news_article(article)|tojson }}`): built here rather than in the
    template, where it cost a fifth of an article page's rendering."""
    absolute = absolute_link_to(config)

    def news_article(article: Article) -> dict[str, object]:
        canonical = absolute(article.path)
        data: dict[str, object] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": article.title,
            "url": canonical,
            "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
            "datePublished": article.published.isoformat(),
            "dateModified": (article.updated or article.published).isoformat(),
            "inLanguage": config.language,
            "publisher": {"@type": "Organization", "name": config.title, "url": absolute("")},
        }
        if article.excerpt:
            data["description"] = article.excerpt
        if article.lead_image:
            data["image"] = [absolute(article.lead_image.url)]
        original = article.original_url or article.web_url
        if original:
            data["isBasedOn"] = absolute(original)
        if article.category:
            data["articleSection"] = article.category
        if article.topics:
            data["keywords"] = [topic.name for topic in article.topics]
        if article.provider:
            organization = {"@type": "NewsMediaOrganization", "name": article.provider.name}
            if article.provider.domain:
                organization["url"] = f"https://{article.provider.domain}/"
            data["sourceOrganization"] = organization
        return data

    return news_article


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between builds; one whose file is damaged (cut short, or
    overwritten) is compiled again, and its file replaced, as if it were not there."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # Jinja reads a checksum with `pickle`, which raises anything
            bucket.reset()


def make_environment(
    theme: Theme, config: SiteConfig, bytecode_dir: Path | None = None
) -> jinja2.Environment:
    """The template environment; compiled templates are kept in `bytecode_dir` if given
    (Jinja checks each one against its source)."""
    bytecode = None
    if bytecode_dir is not None:
        # Jinja works out a filter given constants (`'static/style.css'|url`) as it
        # compiles: the settings such filters read are part of the name.
        settings = hashlib.sha256(repr(config).encode()).hexdigest()[:16]
        suffix = f".{settings}{_COMPILED_SUFFIX}"
        with contextlib.suppress(OSError):
            bytecode_dir.mkdir(parents=True, exist_ok=True)
            for stale in bytecode_dir.glob("*.cache"):
                if not stale.name.endswith(suffix):
                    stale.unlink()
            bytecode = _CompiledTemplates(str(bytecode_dir), "%s" + suffix)
    # Absolute folders: a template is then named from the site's folder in messages, as
    # articles are, however the site's folder was given.
    theme_loader = _TemplateFolders([Path(os.path.abspath(theme.theme_templates))])
    env = NotingEnvironment(
        loader=jinja2.ChoiceLoader(
            [
                _TemplateFolders([Path(os.path.abspath(d)) for d in theme.template_dirs]),
                jinja2.PrefixLoader({"theme": theme_loader}),
            ]
        ),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=[FragmentCache],
        auto_reload=False,
        bytecode_cache=bytecode,  # templates do not change during a build; skip a stat per page
    )
    env.filters.update(
        url=link_to(config),
        absolute_url=absolute_link_to(config),
        date=display_date,
        time=display_time,
    )
    env.globals["news_article"] = news_article_data(config)
    return env


LINKS_READ = "+links"
"""Noted among the `site` attributes a page read (`Rendered.uses`) when its templates
read an article's links to other articles (`NEIGHBOURS`), or might have: then a change
to the links of the articles it lists renders it again. (Not a name an attribute can
have, nor holding the `,` the build cache joins the names with.)"""

NEIGHBOURS = frozenset({"previous", "next", "more_from_topics"})
"""The fields of an `Article` that link it to other articles: most pages that list an
article show its card (its own fields) without them."""

_OPAQUE = frozenset({"format", "format_map"})
"""Methods through which a template could read attributes unseen: `str.format` reads
`{0.previous}` with Python's own `getattr`."""

_WATCHED = NEIGHBOURS | _OPAQUE

TEMPLATE_READ = "<"
"""Starts what is noted among what a page read (`Rendered.uses`) for each template its
rendering loaded, or tried to: `<` and the template's name (`template_read`). A change
to that template, or to which file its name leads to, renders the page again; a change
to a template it never loaded leaves it alone."""

ALL_TEMPLATES = "+templates"
"""Noted for a page rendered where the templates loaded are not seen (a plain
`jinja2.Environment`): any template's change renders it again."""


def template_read(name: str) -> str:
    """What a page read of the template `name`, with `%` and `,` escaped: the build cache
    joins what a page read with commas. A name UTF-8 cannot encode (`"\\ud800.html"`,
    which no template file has, and no cache can store) counts as every template."""
    if not (name.isascii() or is_utf8(name)):
        return ALL_TEMPLATES
    return TEMPLATE_READ + name.replace("%", "%25").replace(",", "%2C")


def template_name(read: str) -> str:
    """The name of the template that `template_read` noted."""
    return read[len(TEMPLATE_READ) :].replace("%2C", ",").replace("%25", "%")


class NotingEnvironment(jinja2.Environment):
    """The template environment, noting in the page being rendered (`recorder`) when a
    template reads an article's links, or might: by name, or through a name starting
    with `_` (`__getattribute__`) or a `format` method, on anything. Compiled templates
    and Jinja's filters (`attr`, `map(attribute=...)`, `sort`, `groupby`) read every
    attribute through `getattr` and `getitem` here; printing an article shows none of
    its links (they are left out of its `repr`), and one article equals another only
    if it is the same one (one per path in a build)."""

    recorder: RecordingSite | None = None

    # Every read of a page passes here, a hundred and more: the names that may matter
    # are told from the others by two quick tests, the first precise, the second not
    # ("`" follows "_": names starting with "_" sort before it, as do those starting
    # with a capital or a digit), then looked at closer.

    def getattr(self, obj: Any, attribute: str) -> Any:
        if attribute in _WATCHED or attribute < "`":
            self._reading(obj, attribute)
        try:  # what Jinja does first, here: a call less for each of the most common reads
            return getattr(obj, attribute)
        except AttributeError:
            return super().getattr(obj, attribute)  # an item, or undefined

    def getitem(self, obj: Any, argument: Any) -> Any:
        if type(argument) is str and (argument in _WATCHED or argument < "`"):
            self._reading(obj, argument)
        return super().getitem(obj, argument)

    # Every template a page loads (its own, what it extends, includes or imports) is
    # asked for here, by name, each time the page renders.

    @jinja2.utils.internalcode
    def get_template(
        self,
        name: str | jinja2.Template,
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        if self.recorder is not None and isinstance(name, str):
            self.recorder.used.add(template_read(name))
        return super().get_template(name, parent, globals)

    @jinja2.utils.internalcode
    def select_template(
        self,
        names: Iterable[str | jinja2.Template],
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        if self.recorder is not None and not isinstance(names, jinja2.Undefined):
            names = list(names)  # each name may be the one found: all are noted
            self.recorder.used.update(template_read(n) for n in names if isinstance(n, str))
        return super().select_template(names, parent, globals)

    def _reading(self, obj: object, name: str) -> None:
        if name in NEIGHBOURS:
            if type(obj) is not Article:
                return  # another value's `next`, say
        elif not (name in _OPAQUE or name.startswith("_")):
            return
        if self.recorder is not None:
            self.recorder.used.add(LINKS_READ)


class RecordingSite:
    """Stands in for the `Site` in templates and notes which of its attributes a page
    reads, so a later build knows which site-wide changes affect that page. The
    settings (`config`), which every page reads many times, are passed through
    unnoted: they are part of every page's fingerprint anyway (its salt)."""

    __slots__ = ("_site", "config", "used")

    def __init__(self, site: Site) -> None:
        self._site = site
        self.config = site.config
        self.used: set[str] = set()

    def __getattr__(self, name: str) -> object:
        self.used.add(name)
        return getattr(self._site, name)


_RECORDER_NAME = f"'{RecordingSite.__module__}.{RecordingSite.__name__} object'"
"""How Jinja names the `site` in its messages (`... has no attribute 'x'`)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    path: str
    """The page's output path."""
    data: bytes
    uses: frozenset[str]
    """The `site` attributes the templates read, with `LINKS_READ` if they read an
    article's links, and the templates loaded (`template_read`)."""


def render_page(
    env: jinja2.Environment, site: Site, page: Page, body_of: BodyOf
) -> Rendered | Diagnostic:
    """One page's HTML, or the diagnostic naming the template and line that failed.
    An article page gets its article's body from `body_of` (the site keeps none)."""
    if page.article is not None and page.article.body_html is None:
        try:
            body = body_of(page.article)
        except BuildError as exc:
            return exc.diagnostics[0]
        page = showing(page, with_body(page.article, body))
    recorder = RecordingSite(site)
    noting = env if isinstance(env, NotingEnvironment) else None
    if noting is not None:
        noting.recorder = recorder
    else:  # what its templates read and load is not seen: taken to be everything
        recorder.used.update((LINKS_READ, ALL_TEMPLATES))
    try:
        html = env.get_template(page.template).render(site=recorder, page=page)
    except RecursionError as exc:
        return _extending_itself(env, exc) or _template_diagnostic(exc, page)
    except Exception as exc:  # a template may raise anything: `{{ 1 // 0 }}`
        return _template_diagnostic(exc, page)
    finally:
        if noting is not None:
            noting.recorder = None
    try:
        data = html.encode("utf-8")
    except UnicodeEncodeError as exc:
        return _unencodable(env, site, page, ord(html[exc.start]))
    return Rendered(page.output_path, data, frozenset(recorder.used))


def _unencodable(env: jinja2.Environment, site: Site, page: Page, code: int) -> Diagnostic:
    """The diagnostic for a page holding a character UTF-8 cannot encode: a lone
    surrogate, which only a template can write (`{{ "\\ud800" }}`; articles and settings
    never hold one). The page is rendered again by templates compiled to check each
    value they write, so that the error names the file and line writing it."""
    message = f"writes U+{code:04X}, a lone surrogate, which UTF-8 cannot encode; remove it"

    def checked(value: object) -> object:
        if not is_utf8(value if isinstance(value, str) else str(value)):
            raise jinja2.TemplateRuntimeError(message)
        return value

    # Compiled afresh, and kept nowhere: the build's own templates skip the check.
    checking = env.overlay(finalize=checked, cache_size=0, bytecode_cache=None)
    try:
        checking.get_template(page.template).render(site=RecordingSite(site), page=page)
    except Exception as exc:
        return _template_diagnostic(exc, page)
    return error(page.template, None, f"template: {message} (rendering /{page.path})")


def _render_job(index: int) -> Rendered | Diagnostic:
    # Workers are forked with the pages in memory: only the index travels.
    return render_page(shared("env"), shared("site"), shared("pages")[index], shared("body_of"))


def render_pages(
    env: jinja2.Environment,
    site: Site,
    pages: Sequence[Page],
    body_of: BodyOf,
    jobs: int = 1,
    per_pool: int | None = None,
) -> Iterator[Rendered]:
    """Render pages in order, over `jobs` processes (fresh ones every `per_pool` pages);
    `BuildError` at the first failure."""
    share = {"env": env, "site": site, "pages": pages, "body_of": body_of}
    rendering = parallel_map(_render_job, range(len(pages)), jobs, share=share, per_pool=per_pool)
    for result in rendering:
        if isinstance(result, Diagnostic):
            raise BuildError((result,))
        yield result


class _TemplateFolders(jinja2.FileSystemLoader):
    """Templates from folders, read as UTF-8 with or without a byte order mark (which
    Windows editors write, and which must not reach the pages); a file that is not
    UTF-8 is a template error naming it and its line."""

    def __init__(self, folders: Sequence[Path]) -> None:
        super().__init__([str(folder) for folder in folders], encoding="utf-8-sig")

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            pieces = jinja2.loaders.split_template_path(template)
            found = (Path(folder, *pieces) for folder in self.searchpath)
            path = next((p for p in found if p.is_file()), None)
            line = exc.object[: exc.start].count(b"\n") + 1
            message = f"not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); save it as UTF-8"
            raise jinja2.TemplateSyntaxError(message, line, template, str(path)) from None


def check_templates(env: jinja2.Environment) -> None:
    """Compile every template so a syntax error is found even in an unused one (but
    those whose names are not UTF-8, which none can use: the theme reports them). A
    theme's template that the site does not override is named twice (`theme/` names it
    too), and reported once."""
    problems: dict[Diagnostic, None] = {}
    for name in env.list_templates(extensions=["html", "xml"]):
        if not is_utf8(name):
            continue
        try:
            env.get_template(name)
        except jinja2.TemplateNotFound as exc:
            if exc.name != name:
                raise
            continue  # a link leading nowhere, which the theme warns of
        except jinja2.TemplateSyntaxError as exc:
            found = error(exc.filename or name, exc.lineno, f"template: {exc.message}")
            problems[found] = None
    if problems:
        raise BuildError(tuple(problems))


def _extending_itself(env: jinja2.Environment, exc: RecursionError) -> Diagnostic | None:
    """The error for a template, among those that ran out of depth, that extends its own
    name: `{% extends "article.html" %}` in the site's `article.html` names that very
    file, the theme's being `theme/article.html`. None if none does (templates that
    extend or include one another in a loop)."""
    running = {frame.filename for frame in traceback.extract_tb(exc.__traceback__)}
    loader = env.loader
    if loader is None:
        return None
    for name in env.list_templates(extensions=["html", "xml"]):
        if name.startswith("theme/") or not is_utf8(name):
            continue
        try:
            source, filename, _ = loader.get_source(env, name)
            if filename not in running:
                continue
            itself = [
                node
                for node in env.parse(source, name, filename).find_all(jinja2.nodes.Extends)
                if isinstance(node.template, jinja2.nodes.Const) and node.template.value == name
            ]
        except jinja2.TemplateError:
            continue
        if itself:
            message = f'{{% extends "{name}" %}} names this template itself, without end'
            if _theme_file(env, name) not in (None, filename):
                message += f'; to extend the theme\'s version, write {{% extends "theme/{name}" %}}'
            return error(filename or name, itself[0].lineno, f"template: {message}")
    return None


def _theme_file(env: jinja2.Environment, name: str) -> str | None:
    """The file of the theme's template of that name, if it has one."""
    try:
        return env.loader.get_source(env, "theme/" + name)[1] if env.loader else None
    except jinja2.TemplateNotFound:
        return None


def _template_diagnostic(exc: Exception, page: Page) -> Diagnostic:
    """The error, named by the template file and line that raised it."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return error(exc.filename or page.template, exc.lineno, f"template: {exc.message}")
    where, line = page.template, None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith((".html", ".xml")):
            where, line = frame.filename, frame.lineno
            break
    if isinstance(exc, jinja2.TemplateNotFound):
        message = f"no template {exc.name!r} in the site's templates/ or the theme's"
    elif isinstance(exc, RecursionError):
        message = "templates extend, include or import one another without end (RecursionError)"
    elif isinstance(exc, jinja2.TemplateError):
        message = (exc.message or str(exc)).replace(_RECORDER_NAME, "'site'")
    else:
        message = f"{type(exc).__name__}: {exc}"
    return error(where, line, f"template: {message} (rendering /{page.path})")
