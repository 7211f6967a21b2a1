"""A running preview for tests: `broadsheet serve`'s loop in-process on a free port.

Plain HTTP with `http.client` (raw request paths, timeouts on everything), a reader for
the Server-Sent Events stream, and polling helpers that give up after a few seconds.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from generator.preview import BuildOutcome, Preview, PreviewOptions

TIMEOUT = 10.0
T = TypeVar("T")


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()


def wait_until(
    check: Callable[[], T | None], timeout: float = TIMEOUT, what: str = "condition"
) -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def fetch(
    port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> Response:
    """One request, with the path sent exactly as given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Response(response.status, headers, response.read())
    finally:
        connection.close()


@dataclass
class Served:
    site: Path
    preview: Preview
    outcomes: list[BuildOutcome] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.preview.server.port

    @property
    def output(self) -> Path:
        return self.site / "output"

    def request(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> Response:
        return fetch(self.port, path, method, headers)

    def status(self) -> dict[str, Any]:
        response = self.request("/__broadsheet/status")
        assert response.status == 200
        status: dict[str, Any] = json.loads(response.body)
        return status

    def builds(self) -> int:
        return int(self.status()["builds"])

    def wait_for_build(self, after: int, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The status once a build later than number `after` has finished."""
        return wait_until(
            lambda: (s := self.status())["builds"] > after and s,
            timeout,
            f"a build after build {after}",
        )

    def events(self) -> EventStream:
        return EventStream(self.port)


class EventStream:
    """The live-reload event stream, read as a browser would, one event at a time."""

    def __init__(self, port: int, timeout: float = TIMEOUT) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.connection.request("GET", "/__broadsheet/events")
        self.response = self.connection.getresponse()
        assert self.response.status == 200
        assert self.response.getheader("Content-Type") == "text/event-stream"

    def next(self) -> dict[str, Any]:
        """The data of the next `status` event (socket timeout if none comes)."""
        name, data = "", ""
        while True:
            line = self.response.readline().decode()
            if not line:
                raise EOFError("event stream closed")
            line = line.rstrip("\n")
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                data += line.split(":", 1)[1].strip()
            elif line == "" and name == "status" and data:
                event: dict[str, Any] = json.loads(data)
                return event

    def close(self) -> None:
        self.connection.close()


@contextmanager
def running(site: Path, drafts: bool = False) -> Iterator[Served]:
    """The preview of `site` on a free port, its session filled; stopped on the way out."""
    outcomes: list[BuildOutcome] = []
    preview = Preview(site, PreviewOptions(port=0, drafts=drafts), outcomes.append)
    try:
        preview.start()
        assert preview.warm.wait(TIMEOUT), "the session was not filled in time"
        yield Served(site.resolve(), preview, outcomes)
    finally:
        preview.stop()


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
