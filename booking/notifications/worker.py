"""Sending without a request: in a thread of each app process, or as a command.

``Cycle.run`` does what is due at a moment: records the reminders of the day
(a few times an hour), sends the messages due, and forgets old ones (hourly,
after ``services.privacy.SENT_MAIL_DAYS``, the one period the privacy page states);
then the calendars' work (``calendars.Watch``: followed calendars read again when their
turn comes, recurring closures written ahead, forgotten uploads dropped).
The background thread runs it every ``MAIL_POLL_SECONDS`` in each process
that serves requests (``make run`` needs nothing else); ``flask send-mail
--loop`` runs it as a worker of its own for a site that turns the thread off.
Several of them at once are safe: messages are claimed, never shared.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from flask import Flask, current_app

from .. import clock
from ..services.accounts.privacy import purge_messages
from ..services.booking.reminders import record_reminders
from .calendars import Watch
from .links import remember_request_address
from .sender import Report, next_due, send_due

log = logging.getLogger(__name__)

REMINDERS_EVERY = timedelta(minutes=10)
PURGE_EVERY = timedelta(hours=1)


class Cycle:
    """What a sender does at each look, and when it last did the occasional parts."""

    def __init__(self) -> None:
        self._reminded_at: datetime | None = None
        self._purged_at: datetime | None = None
        self._calendars = Watch()

    def run(self, now: datetime) -> Report:
        if self._reminded_at is None or now - self._reminded_at >= REMINDERS_EVERY:
            record_reminders(now)
            self._reminded_at = now
        report = Report()
        due = next_due()
        if due is not None and due <= now:
            report = send_due(now)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            purge_messages(now)
            self._purged_at = now
        if current_app.config.get("CALENDARS_IN_BACKGROUND", True):
            try:
                self._calendars.run(now, current_app.config)
            except Exception:  # a calendar's trouble never stops the mail
                log.exception("the followed calendars could not be refreshed")
        return report


class BackgroundSender:
    """A daemon thread that runs the cycle, started by the first request of a process."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.interval = float(app.config["MAIL_POLL_SECONDS"])
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cycle = Cycle()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="mail-sender", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self.app.app_context():
                try:
                    self._cycle.run(clock.now())
                except Exception:  # keep sending: the next look may succeed
                    log.exception("the background mail sender failed")
            if self._stop.wait(self.interval):
                return


def init_app(app: Flask) -> None:
    remember_request_address(app)
    if not app.config["MAIL_SEND_IN_BACKGROUND"]:
        return
    sender = BackgroundSender(app)
    app.extensions["booking.mail_sender"] = sender

    @app.before_request
    def _start_sending() -> None:
        sender.start()
