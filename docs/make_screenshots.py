"""Screenshots of the default theme for the README: builds the example site into a
temporary folder, serves it on 127.0.0.1 and photographs a few pages in headless
Chromium (see tests/browser.py), light at 1280 px and dark at 390 px wide.

    .venv/bin/python docs/make_screenshots.py [OUT_DIR]   # default: docs/screenshots

Not a test: pytest does not collect it. Each PNG is one window high, which keeps it
small (well under 150 KB).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from browser import chromium  # noqa: E402
from generator import BuildOptions, build  # noqa: E402

PAGES = {
    "home": "",
    "article": "2026/04/20/ai-model-helps-forecast-harbour-fog-hours-ahead/",
    "topic": "topics/shipping/",
}
SHOTS = (
    # (width, height, scheme)
    (1280, 900, "light"),
    (390, 844, "dark"),
)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def build_example(folder: Path) -> Path:
    for name in ("site.yaml", "content", "static"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        elif source.is_file():
            shutil.copy(source, folder / name)
    report = build(folder, BuildOptions())
    if report.errors:
        raise SystemExit("\n".join(str(d) for d in report.diagnostics))
    return folder / "output"


def main(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="broadsheet-shots-") as temp:
        output = build_example(Path(temp))
        handler = functools.partial(_QuietHandler, directory=str(output))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            with chromium() as driver:
                for width, height, scheme in SHOTS:
                    # An exact viewport, whatever room the window's frame takes.
                    driver.execute_cdp_cmd(
                        "Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1,
                         "mobile": width < 600},
                    )  # fmt: skip
                    driver.execute_cdp_cmd(
                        "Emulation.setEmulatedMedia",
                        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
                    )
                    for name, path in PAGES.items():
                        driver.get(base + path)
                        target = out_dir / f"{name}-{width}-{scheme}.png"
                        target.write_bytes(driver.get_screenshot_as_png())
                        print(f"{target} ({target.stat().st_size // 1024} KB)")
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "screenshots")
