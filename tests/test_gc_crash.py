"""A session that lets go of objects referring to each other must not crash Python 3.11.

The home page of a grown network crashed gunicorn workers (SIGSEGV during garbage
collection): CPython 3.11 can run the collector in the middle of moving an object's
attributes into its dict, and SQLAlchemy's ``InstanceState._cleanup`` then writes to the
state being moved (booking/models/states.py, README "A crash of Python 3.11 …").

Here the collection is made to fall at each allocation in turn while a session detaches
states whose objects (venues and their resources, which refer to each other) only the
collector can free, in a process of its own: without the workaround it dies of SIGSEGV.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from booking import PROJECT_ROOT

from .conftest import base_config
from .support.growth import grow_network

SCRIPT = """
import gc, json, sys
import sqlalchemy as sa
from sqlalchemy.orm import selectinload
from booking import create_app
from booking.extensions import db
from booking.models import Venue

app = create_app(json.loads(sys.argv[1]))
for offset in range(1, 300):
    with app.app_context():
        gc.disable()  # what is loaded stays in the youngest generation
        venues = db.session.scalars(sa.select(Venue).options(selectinload(Venue.resources))).all()
        assert all(resource.venue is venue for venue in venues for resource in venue.resources)
        del venues  # garbage only the collector frees, as after a page is rendered
        gc.set_threshold(gc.get_count()[0] + offset)
        gc.enable()
        db.session.remove()  # detaches every state: the collection falls on one allocation
        gc.set_threshold(700, 10, 10)
print("survived")
"""


def test_closing_a_session_over_objects_that_refer_to_each_other_does_not_crash(
    app, database_url, tmp_path
):
    grow_network(20)
    config = {**base_config(tmp_path, database_url), "INSTANCE_PATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, json.dumps(config)],
        cwd=PROJECT_ROOT,
        # Freed memory is overwritten at once: a use after free crashes at the first read.
        env={**os.environ, "PYTHONMALLOC": "debug", "PYTHONFAULTHANDLER": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "survived"
