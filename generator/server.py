"""The preview server: serves the output folder over HTTP, with live reload.

Owns path safety (nothing outside the output folder is ever served), content types,
serving the site under the path of `base_url`, the live-reload script injected into
HTML responses (never into the files), the Server-Sent Events hub that tells open
pages about each build, and the status those pages and the overlay show. Knows
nothing of watching or building: it is told the status and publishes it.
"""

from __future__ import annotations

import errno
import json
import mimetypes
import os
import queue
import re
import secrets
import socket
import socketserver
import threading
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import quote, unquote

from generator.theme import DOT_NAMES_PUBLISHED

RESERVED = "/__broadsheet/"
SCRIPT_PATH = RESERVED + "live.js"
EVENTS_PATH = RESERVED + "events"
STATUS_PATH = RESERVED + "status"
PORT_ATTEMPTS = 20
KEEPALIVE_SECONDS = 15.0
_NOT_FOUND = b"<!doctype html>\n<title>Not found</title>\n<body>\n<h1>Not found</h1>\n</body>\n"
_CLIENT = (Path(__file__).resolve().parent / "live.js").read_bytes()

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".pdf": "application/pdf",
}
_FEED_TYPES = {
    "feed.xml": "application/rss+xml; charset=utf-8",
    "atom.xml": "application/atom+xml; charset=utf-8",
}


COPY_CHUNK = 1 << 20
"""Bytes of a file read at a time while it is sent."""


def _copy(source: BinaryIO, target: Any, count: int) -> None:
    """Write the next `count` bytes of `source` (fewer if it was cut short meanwhile)."""
    while count > 0:
        chunk = source.read(min(count, COPY_CHUNK))
        if not chunk:
            return
        target.write(chunk)
        count -= len(chunk)


def _relative(file: Path, output_dir: Path) -> str:
    """The path in the output folder of a file `resolve_request` found there ("" if the
    folder's own path leads elsewhere)."""
    try:
        return file.relative_to(output_dir.resolve()).as_posix()
    except (ValueError, OSError):
        return ""


def content_type(path: Path) -> str:
    if path.name in _FEED_TYPES:
        return _FEED_TYPES[path.name]
    known = _TYPES.get(path.suffix.lower())
    if not known and not path.suffix:  # `CNAME`, `_redirects`: a host's settings, as text
        return "text/plain; charset=utf-8"
    return known or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def inject_script(html: bytes, build: str, file: str = "") -> bytes:
    """The page with the live-reload script before its last `</body>`.

    `build` names the build the page comes from, so the script can tell whether a
    newer one finished while the page was loading; `file`, the page's file in the
    output folder (`SiteStatus.pages` names the files a build changed).
    """
    data = f'data-build="{escape(build)}" data-file="{escape(file)}"'
    tag = f'<script src="{SCRIPT_PATH}" {data} defer></script>'.encode()
    end = html.lower().rfind(b"</body>")
    return html + tag if end < 0 else html[:end] + tag + html[end:]


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """What open pages are told after each build."""

    builds: int = 0
    errors: tuple[str, ...] = ()
    """`path:line: message` of each error; while any stands, pages show the overlay."""
    warnings: tuple[str, ...] = ()
    reload: Literal["page", "css", "none"] = "page"
    """How pages pick up this build: reload, swap only their stylesheets, or nothing
    (no output file changed)."""
    base_path: str = "/"
    pages: tuple[str, ...] | None = None
    """The files of the output folder this build changed (by path there), when a page
    shows none of them but itself (pages, feeds, sitemaps): a page whose own file is
    not among them reloads for nothing. None: any page may show a change."""
    first: int = 0
    """How many times since build `builds` pages were written ahead of their build, this
    time included: the edited article's own page, whose build follows at once (more
    than once, when a build was stopped for a newer save). 0: a build's own status."""


class EventHub:
    """The latest status, and a queue for each open page waiting for the next one."""

    def __init__(self) -> None:
        self._status = SiteStatus()
        self._token = secrets.token_hex(4)  # tells a restarted server's builds apart
        self._queues: set[queue.SimpleQueue[SiteStatus | None]] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def status(self) -> SiteStatus:
        return self._status

    def build_id(self, status: SiteStatus) -> str:
        return f"{self._token}-{status.builds}" + (f"-first{status.first}" if status.first else "")

    def as_json(self, status: SiteStatus) -> dict[str, Any]:
        return {
            "builds": status.builds,
            "build": self.build_id(status),
            "errors": list(status.errors),
            "warnings": list(status.warnings),
            "reload": status.reload,
            "base_path": status.base_path,
            "pages": None if status.pages is None else list(status.pages),
            "first": status.first > 0,
        }

    def publish(self, status: SiteStatus) -> None:
        with self._lock:
            self._status = status
            for waiting in self._queues:
                waiting.put(status)

    def subscribe(self) -> tuple[queue.SimpleQueue[SiteStatus | None], SiteStatus] | None:
        """A queue of the statuses to come and the current one; None once closed."""
        with self._lock:
            if self._closed:
                return None
            waiting: queue.SimpleQueue[SiteStatus | None] = queue.SimpleQueue()
            self._queues.add(waiting)
            return waiting, self._status

    def unsubscribe(self, waiting: queue.SimpleQueue[SiteStatus | None]) -> None:
        with self._lock:
            self._queues.discard(waiting)

    def close(self) -> None:
        """End every event stream now."""
        with self._lock:
            self._closed = True
            for waiting in self._queues:
                waiting.put(None)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a request path leads: a file to serve, a redirect, or a refusal."""

    status: int
    file: Path | None = None
    location: str | None = None


def resolve_request(output_dir: Path, base_path: str, target: str) -> Resolution:
    """Map a request target to a file inside `output_dir`, or refuse it. `base_path` is
    the site's path as its pages link to it (percent-encoded).

    Encoded slashes and backslashes, backslashes, NUL and dot segments are refused
    (403) before any file is looked at; what remains is resolved, symlinks and all,
    and served only if it is still inside the output folder. A folder asked for
    without its slash is redirected to it, keeping the query; a file asked for with a
    slash after it is not found, as on a static host.
    """
    if not target.startswith("/"):
        return Resolution(400)
    raw, _, query = target.split("#", 1)[0].partition("?")
    query = "?" + query if query else ""
    if any(bad in raw.lower() for bad in ("%2f", "%5c", "%00", "\\", "\0")):
        return Resolution(403)
    try:
        path, base = unquote(raw, errors="strict"), unquote(base_path, errors="strict")
    except UnicodeDecodeError:
        return Resolution(404)
    segments = path.split("/")
    if "\0" in path or any(s in (".", "..") for s in segments):
        return Resolution(403)
    if base != "/" and path in ("/", base.rstrip("/")):
        return Resolution(302, location=base_path + query)
    if not path.startswith(base):
        return Resolution(404)
    parts = [p for p in path[len(base) :].split("/") if p]
    if any(p.startswith(".") and p not in DOT_NAMES_PUBLISHED for p in parts):
        return Resolution(404)  # the manifest, files being written
    root = output_dir.resolve()
    found = _contained(root, root.joinpath(*parts))
    if isinstance(found, Resolution):
        return found
    if found.is_dir():
        if not path.endswith("/"):
            return Resolution(302, location=base_path + quote("/".join(parts)) + "/" + query)
        found = _contained(root, found / "index.html")
        if isinstance(found, Resolution):
            return found
    elif path.endswith("/"):
        return Resolution(404)
    return Resolution(200, file=found) if found.is_file() else Resolution(404)


_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII | re.IGNORECASE)


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The bytes `[start, stop)` that a `Range` header asks of a file of `size` bytes,
    as browsers ask for audio and video (Safari plays no video without it); None to
    send the whole file: no header, one that is malformed or asks for several ranges
    (which a server may ignore). `ValueError` if no byte of the file is asked for (416)."""
    found = _RANGE.fullmatch((header or "").strip())
    if found is None or found.groups() == ("", ""):
        return None
    first, last = found.groups()
    if not first:  # the last `last` bytes
        if int(last) == 0 or size == 0:
            raise ValueError("no bytes asked for")
        return max(size - int(last), 0), size
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise ValueError("starts after the end")
    return start, min(int(last) + 1, size) if last else size


def _contained(root: Path, candidate: Path) -> Path | Resolution:
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a symlink loop
        return Resolution(404)
    return resolved if resolved.is_relative_to(root) else Resolution(403)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128  # socketserver's 5 drops connections when many pages load

    def __init__(self, address: tuple[str, int], family: int, preview: PreviewServer) -> None:
        self.address_family = family
        self.preview = preview
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's version looks up the host's FQDN, which can hang without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser that went away mid-response is no error worth a traceback


class PreviewServer:
    """A threaded HTTP server for one output folder, on the first free port from `port`."""

    def __init__(self, output_dir: Path, hub: EventHub, host: str, port: int) -> None:
        self.output_dir = output_dir
        self.hub = hub
        self._httpd = _bind(host, port, self)
        self.host = host
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},  # how long `stop` may wait for the loop
            name="broadsheet-http",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.hub.status.base_path}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Close every event stream, stop accepting requests, release the port."""
        self.hub.close()
        serving = self._thread.is_alive()
        if serving:
            self._httpd.shutdown()
        self._httpd.server_close()
        if serving:  # not if the preview stopped before it began serving
            self._thread.join(timeout=5)


def _bind(host: str, port: int, preview: PreviewServer) -> _HTTPServer:
    family = socket.getaddrinfo(host, port or None, type=socket.SOCK_STREAM)[0][0]
    attempts = 1 if port == 0 else PORT_ATTEMPTS
    for candidate in range(port, min(port + attempts, 65536)):
        try:
            return _HTTPServer((host, candidate), family, preview)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or candidate == port + attempts - 1:
                raise
    raise OSError(errno.EADDRINUSE, f"no free port from {port}")


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    server_version = "broadsheet"
    timeout = 30  # a connection that sends no request does not hold a thread for long

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _not_allowed(self) -> None:
        """A method the preview knows but does not take: it only serves."""
        self._send(405, "text/plain; charset=utf-8", b"405 Method Not Allowed\n", False,
                   extra={"Allow": "GET, HEAD"})  # fmt: skip

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the library prints nothing; the CLI reports builds, not requests

    def _respond(self, head: bool) -> None:
        preview = self.server.preview
        path = self.path.split("?", 1)[0]
        if path == SCRIPT_PATH:
            self._send(200, "text/javascript; charset=utf-8", _CLIENT, head)
        elif path == STATUS_PATH:
            body = json.dumps(preview.hub.as_json(preview.hub.status)).encode()
            self._send(200, "application/json", body, head)
        elif path == EVENTS_PATH and head:
            self._send(200, "text/event-stream", b"", head)
        elif path == EVENTS_PATH:
            self._stream_events(preview.hub)
        else:
            self._serve_file(preview, head)

    def _serve_file(self, preview: PreviewServer, head: bool) -> None:
        base_path = preview.hub.status.base_path
        found = resolve_request(preview.output_dir, base_path, self.path)
        if found.location is not None:
            self._send(found.status, "text/plain; charset=utf-8", b"", head, found.location)
        elif found.file is not None:
            self._send_file(200, found.file, head)
        elif found.status == 404:
            page = resolve_request(preview.output_dir, base_path, base_path + "404.html")
            if page.file is not None:
                self._send_file(404, page.file, head)
            else:  # no site built yet: a page that still shows the overlay and reloads
                hub = preview.hub
                body = inject_script(_NOT_FOUND, hub.build_id(hub.status))
                self._send(404, "text/html; charset=utf-8", body, head)
        else:
            text = {400: b"400 Bad Request\n", 403: b"403 Forbidden\n"}[found.status]
            self._send(found.status, "text/plain; charset=utf-8", text, head)

    def _send_file(self, status: int, file: Path, head: bool) -> None:
        """Send the file, or the part of it a `Range` header asks for. A page is read
        whole, to carry the live-reload script; any other file is read from disk only as
        far as it is sent (a range of a large video reads that range alone)."""
        kind = content_type(file)
        try:
            handle = file.open("rb")
        except OSError:  # removed by a rebuild since it was found
            self._send(404, "text/plain; charset=utf-8", b"404 Not Found\n", head)
            return
        with handle:
            page = None
            if kind.startswith("text/html"):
                preview = self.server.preview
                hub = preview.hub
                # Not found: reloaded for any change, which may make the page asked for.
                own = _relative(file, preview.output_dir) if status == 200 else ""
                page = inject_script(handle.read(), hub.build_id(hub.status), own)
            size = len(page) if page is not None else os.fstat(handle.fileno()).st_size
            extra = {"Accept-Ranges": "bytes"}
            start, stop = 0, size
            if status == 200:
                try:
                    asked = byte_range(self.headers.get("Range"), size)
                except ValueError:
                    extra["Content-Range"] = f"bytes */{size}"
                    self._send(416, "text/plain; charset=utf-8", b"", head, extra=extra)
                    return
                if asked is not None:
                    start, stop = asked
                    extra["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
                    status = 206
            if page is not None:
                self._send(status, kind, page[start:stop], head, extra=extra)
                return
            self._send_headers(status, kind, stop - start, extra=extra)
            if not head:
                handle.seek(start)
                _copy(handle, self.wfile, stop - start)

    def _send(
        self,
        status: int,
        kind: str,
        body: bytes,
        head: bool,
        location: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self._send_headers(status, kind, len(body), location, extra)
        if not head:
            self.wfile.write(body)

    def _send_headers(
        self,
        status: int,
        kind: str,
        length: int,
        location: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if location is not None:
            self.send_header("Location", location)
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()

    def _stream_events(self, hub: EventHub) -> None:
        self.close_connection = True
        subscribed = hub.subscribe()
        if subscribed is None:
            self._send(503, "text/plain; charset=utf-8", b"shutting down\n", False)
            return
        waiting, status = subscribed
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(b"retry: 1000\n\n")
            next_status: SiteStatus | None = status
            while next_status is not None:
                data = json.dumps(hub.as_json(next_status))
                self.wfile.write(f"event: status\ndata: {data}\n\n".encode())
                self.wfile.flush()
                next_status = self._next_status(waiting)
        except OSError:
            pass  # the page was closed or reloaded
        finally:
            hub.unsubscribe(waiting)

    def _next_status(self, waiting: queue.SimpleQueue[SiteStatus | None]) -> SiteStatus | None:
        while True:
            try:
                return waiting.get(timeout=KEEPALIVE_SECONDS)
            except queue.Empty:
                self.wfile.write(b": keep-alive\n\n")
                self.wfile.flush()
