# -*- coding: utf-8 -*-
# Copyright: contributors to the wsman.winrm collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one change pipeline: a plan, and carrying it out without losing anything.

A ``Plan`` says what the host holds (``before``), what it will hold (``after``), what Group Policy
holds back (``held``), what would cut the task's own connection (``refusals``), and the ordered
``steps`` that get there, each with its undo. Every module and the converge action build one; the
action base (``WSManAction.apply_plan``) decides check mode, diff, Group Policy refusal or skip and
the anti-lockout guard in one place, then ``carry_out()`` sends the steps.

The rule after a fault: when a request may have been applied (its reply was lost, late, garbled),
read the host back before undoing, reporting or failing. On any failure the steps already applied
are undone in reverse order, each confirmed by its reply or by a read-back, and the outcome says
what the host holds: ``before`` (everything put back), ``after`` (all applied), ``partial`` (some
change could not be put back) or ``unknown`` (the host could not be read back).
"""

from __future__ import annotations

import dataclasses
import typing as t

BEFORE, AFTER, PARTIAL, UNKNOWN = "before", "after", "partial", "unknown"


class StepFailed(Exception):
    """A step the host refused in a way that leaves nothing applied (e.g. a StdRegProv ReturnValue)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def outcome_unknown(error: BaseException) -> bool:
    """True when the request may have reached the host and been applied (no trustworthy reply).

    The session marks its errors (``WSManError.outcome_unknown``); where it does not, a WS-Man
    fault with its code is the host's definite answer, a refused logon or TLS handshake was never
    processed, and anything else may have been applied - an HTTP 500 without a SOAP fault in it
    included (pypsrp reports it as a fault without a code)."""
    if isinstance(error, StepFailed):
        return False
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import AuthenticationFailed, TLSFailed, WSManFault

    definite = isinstance(error, (AuthenticationFailed, TLSFailed)) or (
        isinstance(error, WSManFault) and error.code is not None)
    return bool(getattr(error, "outcome_unknown", not definite))


def _session_error_types() -> tuple[type[BaseException], ...]:
    from ansible_collections.wsman.winrm.plugins.module_utils.wsman import WSManError

    return (WSManError, StepFailed)


@dataclasses.dataclass
class Step:
    """One change the host takes in one request (or a proof that sends nothing).

    ``send()`` makes it and returns what the host answered; ``undo()`` puts back what it changed
    (None: nothing to put back, e.g. a proof); ``applied()`` reads the host back and says whether
    it holds the step's result (True), its state before (False); ``cannot_undo`` says why a step
    with an effect has no undo (a password Windows never returns).
    """

    name: str
    changes: list[str]
    send: t.Callable[[], t.Any]
    undo: t.Callable[[], t.Any] | None = None
    applied: t.Callable[[], bool] | None = None
    cannot_undo: str = ""


@dataclasses.dataclass
class Held:
    """A change Group Policy holds back: ``item`` wanted ``wanted``, ``source`` sets ``held``."""

    item: str
    wanted: t.Any
    held: t.Any
    source: str  # e.g. "HKLM\\...\\Service\\AllowBasic (Group Policy 'Allow Basic authentication', ...)"
    label: str = ""  # how the message names the item, when ``item`` alone does not say enough

    def describe(self) -> str:
        return "%s (wanted %r, Group Policy sets %r through %s)" % (
            self.label or self.item, self.wanted, self.held, self.source)


@dataclasses.dataclass
class Refusal:
    """Reasons not to send the plan (empty = none), and what the message says: force overrides."""

    reasons: list[str]
    refusal: str
    advice: str
    forced: str


LOCKOUT_REFUSAL = "Refusing a change that would lock this controller out"
LOCKOUT_ADVICE = ("Make the change through another listener or auth method first (the roles order it for you), or "
                  "set force: true if you have another way back in.")


def lockout(reasons: list[str], forced: str = "this change cuts the connection the task used",
            advice: str = LOCKOUT_ADVICE) -> Refusal:
    """The anti-lockout refusal every module shares."""
    return Refusal(reasons, LOCKOUT_REFUSAL, advice, forced)


@dataclasses.dataclass
class Plan:
    """Everything a change is, before anything is sent."""

    before: t.Any = None
    after: t.Any = None  # predicted; ``finish(answers)`` gives what the host answered after a real run
    steps: list[Step] = dataclasses.field(default_factory=list)
    held: list[Held] = dataclasses.field(default_factory=list)
    refusals: list[Refusal] = dataclasses.field(default_factory=list)
    invalid: list[str] = dataclasses.field(default_factory=list)  # always refused (read-only settings)
    warnings: list[str] = dataclasses.field(default_factory=list)
    header: str = ""
    diff: tuple[t.Any, t.Any] | None = None  # (before, after) when the diff shows other views
    finish: t.Callable[[dict[str, t.Any]], t.Any] | None = None
    predicted: t.Any = None  # the predicted model after the change (for the guards and later plans)
    report: dict[str, t.Any] = dataclasses.field(default_factory=dict)  # planner's values for the task result

    @property
    def changes(self) -> list[str]:
        return [change for step in self.steps for change in step.changes]

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step


@dataclasses.dataclass
class Outcome:
    """What carrying out the steps did: the answers, what failed and what the host holds."""

    planned: int = 0
    answers: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    done: list[str] = dataclasses.field(default_factory=list)  # applied, by their reply or a read-back
    failed_step: str | None = None
    error: BaseException | None = None
    rolled_back: list[str] = dataclasses.field(default_factory=list)
    not_undone: list[str] = dataclasses.field(default_factory=list)  # "name (why)"
    unknown: dict[str, str] = dataclasses.field(default_factory=dict)  # name -> why it could not be read
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def host_state(self) -> str:
        if self.error is None:
            return AFTER
        if self.unknown:
            return UNKNOWN
        if not self.not_undone:
            return BEFORE
        return AFTER if len(self.not_undone) == self.planned else PARTIAL

    def summary(self) -> str:
        """What the host holds after the failure, in words, for the task's message."""
        parts = list(self.notes)
        if self.rolled_back:
            parts.append("put back, in reverse order: %s" % ", ".join(self.rolled_back))
        if self.not_undone:
            parts.append("could not put back: %s" % "; ".join(self.not_undone))
        if self.unknown:
            parts.append("could not read back: %s" % "; ".join("%s (%s)" % item for item in self.unknown.items()))
        state = {
            BEFORE: "the host holds its configuration from before this task" + (
                "" if self.rolled_back else " (nothing had been changed)"),
            AFTER: "the host holds the change",
            PARTIAL: "the host holds part of the change: check the items above",
            UNKNOWN: "what the host holds is unknown: read it with wsman.winrm.info before going on",
        }[self.host_state]
        return "; ".join(parts + [state]) + "."


def _read_back(step: Step, outcome: Outcome) -> bool | None:
    """Whether the host holds the step's result; None when it cannot be read (noted in ``unknown``)."""
    if step.applied is None:
        outcome.unknown[step.name] = "no read-back for this step"
        return None
    try:
        return bool(step.applied())
    except _session_error_types() as error:
        outcome.unknown[step.name] = str(error)
        return None


def carry_out(steps: t.Sequence[Step]) -> Outcome:
    """Send the steps in order; on a failure, read back and undo what was applied, in reverse."""
    outcome = Outcome(planned=len(steps))
    applied: list[Step] = []
    for step in steps:
        try:
            outcome.answers[step.name] = step.send()
        except _session_error_types() as error:
            outcome.failed_step, outcome.error = step.name, error
            if outcome_unknown(error) and (step.undo is not None or step.cannot_undo):
                held = _read_back(step, outcome)
                if held:
                    outcome.notes.append("%s reached the host (read back) although its reply was lost" % step.name)
                    outcome.done.append(step.name)
                if held is not False:  # applied, or unknown: undo it all the same (undos are safe to repeat)
                    applied.append(step)
            break
        applied.append(step)
        outcome.done.append(step.name)
    if outcome.error is not None:
        _roll_back(applied, outcome)
    return outcome


def _roll_back(applied: list[Step], outcome: Outcome) -> None:
    for step in reversed(applied):
        if step.undo is None:
            if step.cannot_undo and step.name in outcome.done:
                outcome.not_undone.append("%s (%s)" % (step.name, step.cannot_undo))
            continue
        try:
            step.undo()
        except _session_error_types() as error:
            # A lost reply to the undo: the host says whether it went through.
            if not (outcome_unknown(error) and step.applied is not None and _read_back(step, outcome) is False):
                outcome.not_undone.append("%s (%s)" % (step.name, error))
                continue
        outcome.unknown.pop(step.name, None)  # settled: the undo went through
        outcome.rolled_back.append(step.name)
