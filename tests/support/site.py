"""Build the site and serve a built site on 127.0.0.1 for tests and the benchmark."""

from __future__ import annotations

import functools
import gzip
import io
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = {"": "ja", "en": "en"}  # site path prefix -> language


def build(
    config_file: Path,
    site_dir: Path,
    *,
    site_url: str | None = None,
    check: bool = True,
    offline: bool = False,
) -> subprocess.CompletedProcess:
    """Run ``mkdocs build --strict`` and return the finished process.

    ``site_url`` should be the URL the site is served from: Material's 404 page
    loads its assets from ``site_url``.
    """
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    env.setdefault("SOURCE_DATE_EPOCH", source_date_epoch())
    if site_url:
        env["SITE_URL"] = site_url
    if offline:
        env["OFFLINE"] = "true"  # Material's offline plugin: the zip of `make offline`
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict",
         "-f", str(config_file), "-d", str(site_dir)],
        cwd=config_file.parent,
        env=env,
        capture_output=True,
        text=True,
        check=check,
    )


def source_date_epoch() -> str:
    """The last commit's time: the build date of a reproducible build (sitemap lastmod)."""
    done = subprocess.run(
        ["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return done.stdout.strip() or "0"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - signature from the base class
        pass


class _GzipHandler(_QuietHandler):
    """Compresses text as a static host does (GitHub Pages, Netlify, nginx's gzip_static),
    so that Lighthouse's simulated network sees the bytes a reader would download."""

    COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".map"}

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        if "gzip" not in self.headers.get("Accept-Encoding", "") or path.suffix not in self.COMPRESSED \
                or not path.is_file():
            return super().send_head()  # directories without '/' redirect there, as before
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)


@contextmanager
def serve(directory: Path, compress: bool = False):
    """Serve ``directory`` on an ephemeral port; yield the base URL ending in '/'.

    The directory need not exist yet: build into it once the port is known. With
    ``compress``, text goes out gzip-compressed when the client accepts it.
    """
    handler = functools.partial(_GzipHandler if compress else _QuietHandler, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def page_paths(site_dir: Path) -> list[str]:
    """Every page of a built site as a URL path ('/', '/en/', '/x/' …), sorted."""
    paths = []
    for index in sorted(site_dir.rglob("index.html")):
        rel = index.parent.relative_to(site_dir).as_posix()
        if rel.startswith(("assets", "search")):
            continue
        paths.append("/" if rel == "." else f"/{rel}/")
    not_found = [f"/{p.relative_to(site_dir).as_posix()}" for p in site_dir.rglob("404.html")]
    return sorted(paths) + sorted(not_found)


def language_of(path: str) -> str:
    """The language a URL path is published in."""
    first = path.strip("/").split("/", 1)[0]
    return LANGUAGES.get(first, "ja")
