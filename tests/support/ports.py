"""Free loopback ports for the servers tests start, never the same one twice in a run.

The system hands out a free port (bind to port 0), but between the moment it is
known and the moment a server binds it another test process may be handed the
same one. When the suite runs in several processes (pytest-xdist), conftest sets
BOOKING_TEST_PORTS to a folder of the run; each port given out is claimed there
by creating a file of that name, which only one process can do, so no two
servers of a run are ever given the same port.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

CLAIMS = "BOOKING_TEST_PORTS"


def _claim(port: int) -> bool:
    folder = os.environ.get(CLAIMS)
    if not folder:
        return True
    try:
        os.close(os.open(Path(folder) / str(port), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def free_port() -> int:
    """A loopback TCP port nothing listens on, and no other test of this run was given."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if _claim(port):
            return port
