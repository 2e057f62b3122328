"""`deskconsole ingest`: outside events, JSON Lines, applied in short batches.

Every non-blank input line gets one output line, `{"line": N, "ok": true, "case": ID,
"status": S}` or `{"line": N, "ok": false, "error": "..."}`, in input order. Lines are
applied several to a transaction (Service.batch), each line in a savepoint of it: a line
that is refused rolls back to its savepoint, so it is applied whole or not at all and the
lines around it are untouched. A batch commits after BATCH_LINES lines, after
BATCH_SECONDS, or as soon as standard input has nothing more to read; only then are its
output lines printed, so a line reported ok is durable.

Reading a FILE, each batch also records in the database how far it got (the byte offset
and line number after its last line, the failures so far, a SHA-256 of the bytes up to
there), in the same transaction. Run again on the same FILE, ingest checks that those
bytes are unchanged and goes on after the last committed line: after a crash (kill -9,
power loss) nothing is lost and nothing applied twice, and lines appended to the file
later are applied by the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any

from deskconsole.domain.clock import parse_time
from deskconsole.domain.errors import DeskError, InvalidInput
from deskconsole.domain.lifecycle import Status

if TYPE_CHECKING:
    from deskconsole.service import RoutingMemo, Service

MAX_INGEST_LINE = 2 * 1024 * 1024  # bytes; longer lines fail without being read into memory
BATCH_LINES = 500  # lines per transaction at most
BATCH_SECONDS = 0.15  # and a batch commits after this long (row locks are held until it does)
AHEAD_MORE = 64  # lines read ahead for at a time once a batch is past those it read ahead for at its start
_DRAIN = 1 << 20


class LineError(Exception):
    """This input line is refused; the message goes into its output line."""


# ------------------------------------------------------------------- fields
def _field(event: dict[str, Any], name: str) -> Any:
    value = event.get(name)
    if value is None:
        raise LineError(f"missing field {name!r}")
    return value


def _case_field(event: dict[str, Any]) -> int:
    value = _field(event, "case")
    if not isinstance(value, int) or isinstance(value, bool):
        raise LineError(f"field 'case' must be a case number, not {value!r}")
    return value


def _at_field(event: dict[str, Any]) -> datetime | None:
    value = event.get("at")
    if value is None:
        return None
    if not isinstance(value, str):
        raise LineError(f"field 'at' must be an ISO 8601 time with a zone, not {value!r}")
    try:
        return parse_time(value)
    except ValueError as exc:
        raise LineError(f"field 'at': {exc}") from None


def apply_event(service: Service, event: dict[str, Any]) -> dict[str, Any]:
    kind = event.get("type")
    if kind is None:
        raise LineError("missing field 'type'")
    handler = INGEST_TYPES.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise LineError(f"unknown type {kind!r} (one of: {', '.join(INGEST_TYPES)})")
    return handler(service, event)


def _ingest_opened(service: Service, e: dict[str, Any]) -> dict[str, Any]:
    title, customer = _field(e, "title"), _field(e, "customer")
    at = _at_field(e)
    case = service.open_case(
        title, customer, description=e.get("description"), contact=e.get("contact"),
        product_area=e.get("product_area"), severity=e.get("severity"), ref=e.get("ref"), at=at,
        language=e.get("language"),
    )[0]
    return {"case": case.id, "status": case.status}


def _ingest_replied(service: Service, e: dict[str, Any]) -> dict[str, Any]:
    case_no, body = _case_field(e), _field(e, "body")
    case, notice = service.customer_reply(case_no, body, at=_at_field(e))
    result = {"case": case.id, "status": case.status}
    if notice:
        result["notice"] = notice
    return result


def _ingest_confirmed(service: Service, e: dict[str, Any]) -> dict[str, Any]:
    case = service.customer_confirm(_case_field(e), at=_at_field(e))
    return {"case": case.id, "status": case.status}


def _ingest_escalation(service: Service, e: dict[str, Any]) -> dict[str, Any]:
    case_no, reason = _case_field(e), _field(e, "reason")
    case = service.request_escalation(case_no, reason, actor=None, at=_at_field(e))
    return {"case": case.id, "status": case.status}


def _ingest_survey(service: Service, e: dict[str, Any]) -> dict[str, Any]:
    case_no, score = _case_field(e), _field(e, "score")
    survey = service.answer_survey(case_no, score, e.get("comment"), at=_at_field(e))
    # Surveys are sent when a case closes, and closed cases never change.
    return {"case": survey.case, "status": Status.CLOSED.value}


INGEST_TYPES: dict[str, Callable[[Service, dict[str, Any]], dict[str, Any]]] = {
    "case.opened": _ingest_opened,
    "customer.replied": _ingest_replied,
    "customer.confirmed": _ingest_confirmed,
    "escalation.requested": _ingest_escalation,
    "survey.answered": _ingest_survey,
}


# ------------------------------------------------------------------ reading
# number, text, problem, byte offset after the line, and (reading with a digest) the digest of the
# bytes up to there: a batch applied again from lines read ahead marks its own prefix, not theirs
Line = tuple[int, "str | None", "str | None", int, Any]


def read_lines(
    stream: IO[bytes], limit: int = MAX_INGEST_LINE, *, first: int = 1, offset: int = 0,
    digest: Any = None,
) -> Iterator[Line]:
    """(line number, text, problem, offset after it) for every physical line.

    A line over `limit` bytes is skipped unread (drained a megabyte at a time). `digest`
    (a hashlib object), when given, is fed every byte read.
    """
    number = first - 1
    while True:
        chunk = stream.readline(limit + 1)
        if not chunk:
            return
        number += 1
        offset += len(chunk)
        if digest is not None:
            digest.update(chunk)
        if len(chunk) > limit and not chunk.endswith(b"\n"):
            del chunk
            while True:  # drop the rest of the line without keeping it
                more = stream.readline(_DRAIN)
                offset += len(more)
                if digest is not None:
                    digest.update(more)
                if not more or more.endswith(b"\n"):
                    break
            yield number, None, f"line too long (more than {limit:,} bytes)", offset, _copy(digest)
            continue
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, f"not valid UTF-8 (byte {exc.start + 1} of the line)", offset, _copy(digest)
            continue
        yield number, text.rstrip("\r\n"), None, offset, _copy(digest)


def _copy(digest: Any) -> Any:
    return None if digest is None else digest.copy()


class _Lines:
    """Lines from a file, read as they are needed; `ready()` is always true."""

    def __init__(self, lines: Iterator[Line]) -> None:
        self._lines = lines

    def __iter__(self) -> Iterator[Line]:
        return self._lines

    def ready(self) -> bool:
        return True


class _PipeLines(_Lines):
    """Lines from a pipe or terminal, read ahead by a thread, so that a batch can commit
    (and its output lines be printed) whenever the sender pauses."""

    _END = object()

    def __init__(self, lines: Iterator[Line]) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=4 * BATCH_LINES)
        thread = threading.Thread(target=self._read, args=(lines,), name="ingest-reader", daemon=True)
        thread.start()

    def _read(self, lines: Iterator[Line]) -> None:
        try:
            for line in lines:
                self._queue.put(line)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading side
            self._queue.put(exc)
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[Line]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def ready(self) -> bool:
        return not self._queue.empty()


# --------------------------------------------------------------- progress
class Progress:
    """How far earlier runs got through one FILE, kept in the database with each batch."""

    def __init__(self, service: Service, path: str, stream: IO[bytes]) -> None:
        self.service = service
        self.path = path
        real = os.path.realpath(path).encode("utf-8", "surrogateescape")
        self.key = "ingest:" + hashlib.sha256(real).hexdigest()[:32]
        self.digest = hashlib.sha256()
        self.line = 0
        self.offset = 0
        self.failed = 0
        self.stream = stream
        self.replace = False

    def resume(self, *, restart: bool) -> str | None:
        """Position the stream after the last committed line; a note for stderr, or None."""
        if restart:
            self.replace = True  # the first mark of this run replaces the earlier run's
            return None
        stored = self.service.ingest_progress(self.key)
        if stored is None:
            return None
        mark = json.loads(stored)
        offset, line, failed = int(mark["offset"]), int(mark["line"]), int(mark.get("failed", 0))
        left = offset
        while left > 0:
            chunk = self.stream.read(min(left, _DRAIN))
            if not chunk:
                break
            self.digest.update(chunk)
            left -= len(chunk)
        if left > 0 or self.digest.hexdigest() != mark["prefix"]:
            raise InvalidInput(
                f"{self.path} is not the file an earlier ingest read up to line {line:,}: its first "
                f"{offset:,} bytes differ; to apply it from the first line anyway, add --restart"
            )
        self.line, self.offset, self.failed = line, offset, failed
        failures = f", {failed:,} of them refused" if failed else ""
        return (
            f"{self.path}: lines 1-{line:,} were applied by an earlier run{failures}; "
            f"going on from line {line + 1:,}"
        )

    def record(self, service: Service, line: int, offset: int, failed: int, prefix: Any = None) -> None:
        """Keep the mark through `service`: the batch's (batch.service), so it commits with the lines."""
        digest = (prefix if prefix is not None else self.digest).hexdigest()
        value = json.dumps({"offset": offset, "line": line, "failed": failed, "prefix": digest},
                           separators=(",", ":"))
        service.record_ingest_progress(self.key, value, offset, replace=self.replace)
        self.replace = False


# ----------------------------------------------------------------- applying
def peek(lines: list[Line]) -> tuple[list[int], int]:
    """What a batch reads ahead for these lines: the case numbers they name (those whose text is a
    JSON object with a whole-number "case"; a line that names none, or is no JSON, adds none), and how
    many of them open a new case without a `ref` (case.opened with a title and a customer: the
    numbers Batch.case_ids draws ahead for them)."""
    found, new = [], 0
    for _, text, problem, _, _ in lines:
        if problem is not None or not text or ('"case"' not in text and '"case.opened"' not in text):
            continue
        try:
            event = json.loads(text, strict=False)
        except (ValueError, RecursionError):
            continue
        if not isinstance(event, dict):
            continue
        case = event.get("case")
        if isinstance(case, int) and not isinstance(case, bool):
            found.append(case)
        if event.get("type") == "case.opened" and event.get("title") and event.get("customer") \
                and event.get("ref") is None:
            new += 1
    return found, new


class _Retry:
    """A database error inside a batch (a deadlock, a race on a unique key): the line should be
    tried again in a transaction of its own, if the batch's transaction still exists."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Again(Exception):
    """A line failed in a batch run without savepoints: the batch is rolled back, and its lines
    are applied again with a savepoint each."""


class _Lost(Exception):
    """The batch's transaction no longer exists (SQLite rolled it back by itself on a full disk or
    an I/O error, the connection was lost, the commit failed): nothing of the batch is stored."""

    def __init__(self, error: BaseException | None) -> None:
        super().__init__(str(error) if error is not None else "the transaction was rolled back")
        self.error = error


class Stopped(DeskError):
    """Ingest stopped on a database fault; the message says up to which line everything is stored."""


def _reason(exc: BaseException | None) -> str:
    if exc is None:
        return "the database rolled the transaction back"
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    return text if len(text) <= 300 else text[:299] + "…"


def _apply_line(
    service: Service, number: int, text: str | None, problem: str | None, routing: RoutingMemo | None,
    *, alone: bool,
) -> Any:
    """The output line for one input line (None for a blank line), or a _Retry when a
    database error inside a batch means the line should be tried again in its own transaction."""
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    if text is not None and not text.strip():
        return None
    if routing is not None:
        routing.mark()
    try:
        if problem is not None:
            raise LineError(problem)
        try:
            # strict=False: a raw tab or escape character inside a string is kept (as the
            # customer's text), not a reason to refuse the line
            event = json.loads(text, strict=False)  # type: ignore[arg-type]
        except RecursionError:
            raise LineError("not valid JSON: nested too deeply") from None
        except ValueError as exc:
            raise LineError(f"not valid JSON: {exc}") from None
        if not isinstance(event, dict):
            raise LineError(f"each line must be a JSON object, not {type(event).__name__}")
        return {"line": number, "ok": True, **apply_event(service, event)}
    except (LineError, DeskError) as exc:
        error = str(exc)
    except SQLAlchemyError as exc:
        if not alone:
            if routing is not None:
                routing.undo()
            return _Retry(exc)
        if isinstance(exc, OperationalError):
            raise  # the database is gone, full or locked: stop here, reported as one error line
        error = f"could not apply the line: {type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a bad line must not stop the lines after it
        error = f"could not apply the line: {type(exc).__name__}: {exc}"
    if routing is not None:
        routing.undo()
    return {"line": number, "ok": False, "error": error}


def _stopped(first: int, reason: str, path: str | None, *, replaced: Any = None) -> Stopped:
    """The one error line of an ingest stopped at line `first` (nothing from there on is stored).
    `replaced`: the database file, when it was deleted or replaced while ingest ran."""
    if replaced is not None:
        return Stopped(f"the database file {replaced} was deleted or replaced while ingest ran; "
                       f"lines from {first:,} on were not stored")
    stored = f"lines up to {first - 1:,} are stored (each line answered ok is)" if first > 1 else "no line is stored"
    again = (f"; run ingest again on {path} when the database can take them: it goes on from line {first:,}"
             if path is not None else f"; send the lines from {first:,} on again")
    return Stopped(f"could not store the lines from {first:,} on: {reason}; {stored}, "
                   f"nothing from line {first:,} on{again}")


def ingest_stream(
    service: Service, stream: IO[bytes], out: Any, *, path: str | None = None, restart: bool = False,
) -> int:
    """Apply every line; print one result per non-blank line; 1 when any line failed.

    With `path` (a regular file), progress is kept and an earlier run is resumed (see above).
    A batch whose transaction is lost (see _Lost) is applied once more in a fresh transaction;
    lost again, or committed into a database file that was deleted or replaced meanwhile,
    ingest stops with a Stopped error: no line of that batch or after it is answered.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from deskconsole.service import CaseIds, FileReplaced, RoutingMemo

    progress: Progress | None = None
    if path is not None:
        progress = Progress(service, path, stream)
        note = progress.resume(restart=restart)
        if note:
            out.err.write(note + "\n")
            out.err.flush()
        lines: _Lines = _Lines(read_lines(stream, first=progress.line + 1, offset=progress.offset,
                                          digest=progress.digest))
    else:
        lines = _PipeLines(read_lines(stream))
    failed = progress.failed if progress else 0
    routing = RoutingMemo()
    case_ids = CaseIds()  # (PostgreSQL: numbers for new cases, drawn ahead)
    source = iter(lines)
    again: deque[Line] = deque()  # lines of a rolled-back batch, to be applied again
    finished = False
    lost_once: int | None = None  # the first line of a batch whose transaction was lost once
    careful_until = 0  # the lines of a lost batch are applied again one line per transaction

    carried: deque[Line] = deque()  # lines read ahead that the last batch did not take

    def take() -> Iterator[Line]:
        # (lines read ahead in the middle of a batch go into `carried`: always taken from there first)
        while True:
            if again:
                yield again.popleft()
            elif carried:
                yield carried.popleft()
            else:
                item = next(source, None)  # (not a loop over source: ending this generator must not close it)
                if item is None:
                    return
                yield item

    def read_ahead(wanted: int) -> list[Line]:
        """The next `wanted` lines, of those already read (the batch after takes what this one
        does not: `carried`), to read what they need in a few statements for all of them
        (Batch.prefetch)."""
        while len(again) + len(carried) < wanted and lines.ready():
            item = next(source, None)
            if item is None:
                break
            carried.append(item)
        return [*again, *carried][:wanted]

    def check_file(first: int) -> None:
        problem = service.database_file_problem()
        if problem is not None:
            raise _stopped(first, problem, path, replaced=service.database_file())

    taken: list[Line] = []  # the lines the current batch applied (and, at its start, the last one's)
    while not finished:
        results: list[dict[str, Any]] = []
        retry: Line | None = None
        last: Line | None = None
        batch_failed = failed
        started = time.monotonic()
        # Most batches run without a savepoint per line (a SAVEPOINT and its RELEASE cost as much
        # as the line's own statements; on SQLite: see Service.batch); the first action that fails
        # rolls such a batch back and its lines are applied again, each in a savepoint, so a
        # refused line leaves nothing behind.
        savepoints = bool(again)
        memo = routing.state()
        # as many lines ahead as the last batch took, and some (a batch ends after BATCH_SECONDS:
        # what it would not reach is read again by the next)
        ahead = read_ahead(min(BATCH_LINES, max(32, len(taken) * 5 // 4)))
        taken: list[Line] = []
        try:
            try:
                with service.batch(routing=routing, savepoints=savepoints, case_ids=case_ids) as batch:
                    # (lines applied one per transaction, after a lost batch: only the first)
                    careful = bool(ahead) and ahead[0][0] <= careful_until
                    named, opening = peek(ahead[:1] if careful else ahead)
                    batch.prefetch(named)
                    case_ids.expect(opening)
                    covered = len(ahead)  # lines from here on that were read ahead for
                    for item in take():
                        if covered <= 0 and not careful:
                            # past the lines read ahead for: the next ones already there, read ahead for too
                            more = read_ahead(AHEAD_MORE)
                            named, opening = peek(more)
                            batch.prefetch(named)
                            case_ids.expect(opening, more=True)
                            covered = len(more)
                        covered -= 1
                        taken.append(item)
                        result = _apply_line(batch.service, item[0], item[1], item[2], routing, alone=False)
                        # after any failure: does the batch's transaction still exist?
                        line_failed = result is not None and (isinstance(result, _Retry) or not result["ok"])
                        if line_failed and not batch.alive():
                            raise _Lost(result.error if isinstance(result, _Retry) else None)
                        if batch.failed_without_savepoint:  # see Service.batch
                            raise _Again
                        if isinstance(result, _Retry):
                            retry = item
                            break
                        last = item
                        if result is not None:
                            results.append(result)
                            batch_failed += not result["ok"]
                        if (len(results) >= BATCH_LINES or time.monotonic() - started >= BATCH_SECONDS
                                or (not again and not carried and not lines.ready()) or item[0] <= careful_until):
                            break
                    else:
                        finished = True
                    if progress is not None and last is not None:
                        progress.record(batch.service, last[0], last[3], batch_failed, last[4])
            except FileReplaced as exc:
                raise _stopped(taken[0][0] if taken else 1, str(exc), path,
                               replaced=service.database_file()) from None
            except SQLAlchemyError as exc:  # the commit (or the progress mark) failed: nothing is stored
                raise _Lost(exc) from None
        except _Again:
            again.extendleft(reversed(taken))
            routing.restore(memo)  # the rolled-back batch's assignments are taken back
            continue
        except _Lost as lost:
            routing.restore(memo)
            first = taken[0][0] if taken else 1
            check_file(first)
            if lost_once == first:  # lost a second time: stop
                raise _stopped(first, _reason(lost.error), path) from None
            lost_once = first
            careful_until = max(careful_until, taken[-1][0] if taken else 0)
            finished = False
            again.extendleft(reversed(taken))  # once more, in a fresh transaction
            continue
        if taken:
            check_file(taken[0][0])  # committed into a file that is no longer the database: not stored
        lost_once = None
        failed = batch_failed
        for result in results:
            out.json(result)
        out.out.flush()
        if retry is not None:
            # a database error (a deadlock, a race on a unique key) inside the batch: the lines
            # before it are committed; this one gets a transaction of its own, as if alone
            try:
                with service.batch(routing=routing) as batch:
                    result = _apply_line(batch.service, retry[0], retry[1], retry[2], routing, alone=True)
                    failed += result is not None and not result["ok"]
                    if progress is not None:
                        progress.record(batch.service, retry[0], retry[3], failed, retry[4])
            except FileReplaced as exc:
                raise _stopped(retry[0], str(exc), path, replaced=service.database_file()) from None
            except SQLAlchemyError as exc:
                raise _stopped(retry[0], _reason(exc), path) from None
            check_file(retry[0])
            if result is not None:
                out.json(result, flush=True)
    return 1 if failed else 0


def ingest_file(service: Service, path: str | None, out: Any, *, restart: bool = False) -> int:
    import sys

    if path in (None, "-"):
        return ingest_stream(service, sys.stdin.buffer, out)
    try:
        stream = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    with stream:
        try:
            regular = os.path.isfile(path) and stream.seekable()
        except OSError:
            regular = False
        if not regular:  # a named pipe or a device: read as standard input is
            return ingest_stream(service, stream, out)
        return ingest_stream(service, stream, out, path=path, restart=restart)
