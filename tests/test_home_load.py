"""The home page of a network grown to 300 venues and 3,000 resources, under gunicorn.

Workers used to die of SIGSEGV on about one view in three (a crash of CPython 3.11's
garbage collector while SQLAlchemy let go of the whole network's objects, see
tests/test_gc_crash.py). Every answer must be a whole page, and every worker alive.
"""

from __future__ import annotations

import urllib.request

import pytest

from .support.growth import grow_network
from .support.gunicorn import gunicorn

pytestmark = pytest.mark.slow

PATHS = ["/", "/?page=2", "/?page=30", "/?place=roubaix", "/?place=tiers+lieu&page=7"]


def test_the_home_of_a_grown_network_answers_every_time(app, database_url):
    grow_network(300)
    with gunicorn(database_url, workers=2) as base:
        workers = sorted(base.worker_pids())
        for n in range(60):
            path = PATHS[n % len(PATHS)]
            with urllib.request.urlopen(base + path, timeout=60) as response:
                body = response.read().decode()
            assert response.status == 200, path
            assert body.rstrip().endswith("</html>"), path
            assert 'class="venue-name"' in body, path
        assert sorted(base.worker_pids()) == workers  # none died and was replaced
