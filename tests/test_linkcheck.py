"""The link checker's parsing and reporting, against a server on 127.0.0.1."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.tools import linkcheck


class Handler(BaseHTTPRequestHandler):
    def _answer(self, body: bool):
        if self.path == "/ok":
            self.send_response(200)
        elif self.path == "/no-head" and self.command == "HEAD":
            self.send_response(405)
        elif self.path == "/no-head":
            self.send_response(200)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "/ok")
        else:
            self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_HEAD(self):
        self._answer(False)

    def do_GET(self):
        self._answer(True)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_dead_links_are_found(server):
    closed = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    closed_url = f"http://127.0.0.1:{closed.server_address[1]}/nothing"
    closed.server_close()  # nothing listens there any more
    urls = [f"{server}/ok", f"{server}/moved", f"{server}/no-head", f"{server}/gone", closed_url]
    dead = linkcheck.check_all(urls)
    assert set(dead) == {f"{server}/gone", closed_url}
    assert dead[f"{server}/gone"] == "HTTP 404"
    assert dead[closed_url].startswith("unreachable")


def test_report_names_the_pages(server):
    text = linkcheck.report({f"{server}/gone": "HTTP 404"}, {f"{server}/gone": {"/references/"}}, 3)
    assert text.splitlines() == [
        "3 external URLs checked, 1 dead",
        f"DEAD HTTP 404: {server}/gone",
        "    linked from /references/",
    ]


def test_external_links_of_the_built_site(site_dir, base_url):
    links = linkcheck.external_links(site_dir, base_url)
    # Every reference's URL is linked from /references/ (ja and en).
    assert "/references/" in links["https://doi.org/10.1145/361011.361073"]
    assert "/en/references/" in links["https://doi.org/10.1145/361011.361073"]
    assert not any(url.startswith(base_url) for url in links)
