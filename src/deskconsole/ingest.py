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
Line = tuple[int, "str | None", "str | None", int]  # number, text, problem, byte offset after the line


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
            yield number, None, f"line too long (more than {limit:,} bytes)", offset
            continue
        if number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk = chunk[3:]
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, f"not valid UTF-8 (byte {exc.start + 1} of the line)", offset
            continue
        yield number, text.rstrip("\r\n"), None, offset


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

    def record(self, service: Service, line: int, offset: int, failed: int) -> None:
        """Keep the mark through `service`: the batch's (batch.service), so it commits with the lines."""
        value = json.dumps({"offset": offset, "line": line, "failed": failed, "prefix": self.digest.hexdigest()},
                           separators=(",", ":"))
        service.record_ingest_progress(self.key, value, offset, replace=self.replace)
        self.replace = False


# ----------------------------------------------------------------- applying
_RETRY_ALONE = object()


class _Again(Exception):
    """A line failed in a batch run without savepoints: the batch is rolled back, and its lines
    are applied again with a savepoint each."""


def _apply_line(
    service: Service, number: int, text: str | None, problem: str | None, routing: RoutingMemo | None,
    *, alone: bool,
) -> Any:
    """The output line for one input line (None for a blank line), or _RETRY_ALONE when a
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
            return _RETRY_ALONE
        if isinstance(exc, OperationalError):
            raise  # the database is gone or locked: stop here, reported as one error line
        error = f"could not apply the line: {type(exc).__name__}: {exc}"
    except Exception as exc:  # noqa: BLE001 - a bad line must not stop the lines after it
        error = f"could not apply the line: {type(exc).__name__}: {exc}"
    if routing is not None:
        routing.undo()
    return {"line": number, "ok": False, "error": error}


def ingest_stream(
    service: Service, stream: IO[bytes], out: Any, *, path: str | None = None, restart: bool = False,
) -> int:
    """Apply every line; print one result per non-blank line; 1 when any line failed.

    With `path` (a regular file), progress is kept and an earlier run is resumed (see above).
    """
    from deskconsole.service import RoutingMemo

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
    source = iter(lines)
    again: deque[Line] = deque()  # lines of a rolled-back batch, to be applied again
    finished = False

    def take() -> Iterator[Line]:
        while again:
            yield again.popleft()
        for item in source:  # noqa: UP028 -- not `yield from`: ending this generator must not close the source
            yield item

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
        taken: list[Line] = []
        memo = routing.state()
        try:
            with service.batch(routing=routing, savepoints=savepoints) as batch:
                for item in take():
                    taken.append(item)
                    result = _apply_line(batch.service, item[0], item[1], item[2], routing, alone=False)
                    if batch.failed_without_savepoint:  # see Service.batch
                        raise _Again
                    if result is _RETRY_ALONE:
                        retry = item
                        break
                    last = item
                    if result is not None:
                        results.append(result)
                        batch_failed += not result["ok"]
                    if (len(results) >= BATCH_LINES or time.monotonic() - started >= BATCH_SECONDS
                            or (not again and not lines.ready())):
                        break
                else:
                    finished = True
                if progress is not None and last is not None:
                    progress.record(batch.service, last[0], last[3], batch_failed)
        except _Again:
            again.extendleft(reversed(taken))
            routing.restore(memo)  # the rolled-back batch's assignments are taken back
            continue
        failed = batch_failed
        for result in results:
            out.json(result)
        out.out.flush()
        if retry is not None:
            # a database error (a deadlock, a race on a unique key) inside the batch: the lines
            # before it are committed; this one gets a transaction of its own, as if alone
            with service.batch(routing=routing) as batch:
                result = _apply_line(batch.service, retry[0], retry[1], retry[2], routing, alone=True)
                failed += result is not None and not result["ok"]
                if progress is not None:
                    progress.record(batch.service, retry[0], retry[3], failed)
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
