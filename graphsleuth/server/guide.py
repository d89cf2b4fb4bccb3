"""The investigators' Browser guide: rendered from the guide template and investigate.cypher, and served
on localhost beside Neo4j (the Browser fetches remote guides only from allow-listed hosts)."""

from __future__ import annotations

import http.server
import logging
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ..errors import StoreError
from ..resources import package_file
from .paths import guide_port, neo4j_home, pid_file, style_url
from .pidfiles import port_free, read_pid

__all__ = ["publish_guide", "start_guide_server"]


def www() -> Path:
    return neo4j_home() / "www"


def publish_guide() -> Path:
    """Render the guide template browser/guide.html (queries filled in from investigate.cypher) and copy style.grass.

    The guide's queries are the very text of cypher/investigate.cypher, so the
    guide and the library never drift apart. Returns the published guide file.
    """
    import html
    import re

    from ..queries import cypher_statements

    queries = cypher_statements("investigate")
    template = package_file("graphsleuth.server", "browser", "guide.html").read_text(encoding="utf-8")

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in queries:
            raise StoreError(f"cypher/guide.html names query {name}, which investigate.cypher does not have")
        return html.escape(queries[name], quote=False)

    text = re.sub(r"\{\{query:([A-Za-z_][A-Za-z0-9_]*)\}\}", fill, template)
    text = text.replace("{{style_url}}", style_url())
    target = www() / "guide" / "graphsleuth.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    shutil.copyfile(package_file("graphsleuth.server", "browser", "style.grass"), www() / "style.grass")
    return target


def start_guide_server() -> None:
    """Serve the published guide and style.grass on localhost for the Browser, if not already."""
    publish_guide()
    if read_pid("guide") is not None:
        return
    port = guide_port()
    if not port_free(port):
        # Something else holds the port; the guide is optional, so say so and go on.
        logging.getLogger("graphsleuth").warning(
            "warning: port %s is in use, so the Browser guide is not served (set GRAPHSLEUTH_GUIDE_PORT to another port)", port
        )
        return
    log = neo4j_home() / "logs" / "guide.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "graphsleuth.server.guide", "serve-guide", str(port), str(www()), str(neo4j_home())],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=neo4j_home(),
        )
    pid_file("guide").write_text(str(proc.pid))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and port_free(port):
        time.sleep(0.1)


class _GuideHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with CORS, so the Browser (on another port) may fetch them."""

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def do_OPTIONS(self) -> None:  # noqa: N802 - http.server's naming
        """Answer the CORS preflight the Browser sends (it adds pragma/cache-control headers)."""
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", self.headers.get("Access-Control-Request-Headers", "*"))
        self.send_header("Access-Control-Max-Age", "600")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature from the base class
        sys.stderr.write(f"{self.log_date_time_string()} {format % args}\n")


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _serve_guide(port: int, directory: str) -> None:
    """Run the static guide server until terminated (used by ``python -m graphsleuth.server``)."""
    import functools

    handler = functools.partial(_GuideHandler, directory=directory)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":  # pragma: no cover - the guide server's own process
    if len(sys.argv) >= 4 and sys.argv[1] == "serve-guide":
        _serve_guide(int(sys.argv[2]), sys.argv[3])
    else:
        sys.exit("usage: python -m graphsleuth.server.guide serve-guide PORT DIRECTORY NEO4J_HOME")
