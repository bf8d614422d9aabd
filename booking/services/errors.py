"""Domain errors that views turn into messages next to the right field."""

from __future__ import annotations

from ..rules import Violation

# Violations that mean "someone holds this slot" (HTTP 409), not "this request
# breaks a rule" (422).
CONFLICT_CODES = frozenset({"capacity", "own_overlap", "just_taken", "series_taken"})


class BookingError(Exception):
    """The request breaks one or more rules; every one of them is listed."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(", ".join(v.code for v in violations))
        self.violations = violations

    @property
    def is_conflict(self) -> bool:
        """Whether the slot is held by someone, rather than asked for wrongly."""
        return any(v.code in CONFLICT_CODES for v in self.violations)


class ConflictError(BookingError):
    """Someone else took the slot while this request was being made."""

    def __init__(self) -> None:
        super().__init__([Violation("just_taken", "starts_at")])


class TransitionError(Exception):
    """A lifecycle move that the reservation's state does not allow."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class NotAllowedError(Exception):
    """The person acting has no right to do this."""

    def __init__(self, code: str = "not_allowed") -> None:
        super().__init__(code)
        self.code = code


class SettingsError(Exception):
    """A manager's change (hours, rules, closure, training, role) that cannot be made as
    asked; every problem is listed, each on the field it concerns."""

    def __init__(self, violations: list[Violation]) -> None:
        super().__init__(", ".join(v.code for v in violations))
        self.violations = violations


class ChangedMeanwhileError(Exception):
    """What a manager confirmed is no longer what the database holds (a booking made
    between the preview and the confirmation): nothing was written; look again."""

    def __init__(self, code: str = "changed_meanwhile") -> None:
        super().__init__(code)
        self.code = code
