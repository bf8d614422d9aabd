"""The app served on a free loopback port in a thread, for browsers and HTTP clients.

base_url, stop = serve(app)
...
stop()
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask
from werkzeug.serving import make_server


def serve(app: Flask) -> tuple[str, Callable[[], None]]:
    """Start ``app`` on 127.0.0.1 and a port the system picks; return its URL and a stopper."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", stop
