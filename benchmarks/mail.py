"""Inbound mail benchmark: messages applied per second by `mail fetch`, and peak memory for a 30 MB message.

    eval "$(scripts/dovecot-throwaway.sh start)"          # a real IMAP server (as root)
    .venv/bin/python benchmarks/mail.py [--messages 5000] [--big-mb 30] [--db URL]

1. rate: a fresh desk (SQLite file in a temporary folder unless --db) with two analysts and
   200 cases that have been mailed; a mailbox (a new folder on DESKCONSOLE_TEST_IMAP_URL) of
   N mixed messages put in with APPEND: 40 % new threads from 400 senders, 30 % replies by
   In-Reply-To to the desk's mail, 10 % replies by subject tag, 10 % auto-replies and bounces
   (parked), 10 % second copies (duplicates). The time is `deskconsole mail fetch`'s, in its own
   process, from spawn to exit (one pass over the whole mailbox); messages/s = N / that time. The
   process's CPU time is printed too (on a busy machine the wall time measures the neighbours).
2. memory: `deskconsole mail receive` applying one message of --big-mb MB (a PDF-like attachment,
   base64) in its own process; its peak resident memory (ru_maxrss).

Targets: >= 200 messages/s on a 2-core machine; <= 200 MB peak for a 30 MB message.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from urllib.parse import urlsplit

from deskconsole.delivery.worker import DeliveryOptions, deliver_once
from deskconsole.domain.clock import FixedClock
from deskconsole.service import Service
from deskconsole.store.engine import init_schema, make_engine

NOW = "2026-11-30T09:00:00Z"
DESK = "desk@support.example"


class Keep:
    def __init__(self) -> None:
        self.sent = []

    def send(self, message, sender, recipients):
        self.sent.append(message)
        return {}

    def close(self) -> None:
        pass


def desk(url: str) -> tuple[Service, list[tuple[int, str]]]:
    engine = make_engine(url)
    init_schema(engine)
    svc = Service(engine, FixedClock(NOW))
    svc.add_agent("mona", "manager", actor=None)
    for name in ("alice", "bob"):
        svc.add_agent(name, "analyst", actor="mona", manager="mona", skills=["login", "billing"])
    for i in range(200):
        case, _ = svc.open_case(f"Case {i}", f"cust{i % 40}", contact=f"user{i % 400}@cust{i % 40}.example")
        svc.add_note(case.id, "Could you send the log?", actor="alice", internal=False)
    keep = Keep()
    deliver_once(engine, svc.clock, keep, DeliveryOptions(sender=DESK, batch=1000))
    return svc, [(int(m["X-Deskconsole-Case"]), m["Message-ID"]) for m in keep.sent]


def mixed(n: int, sent: list[tuple[int, str]], rng: random.Random) -> list[bytes]:
    out: list[bytes] = []
    for i in range(n):
        roll = rng.random()
        sender = f"user{rng.randrange(400)}@cust{rng.randrange(40)}.example"
        headers, subject = "", f"Problem {i}: the export fails"
        if roll < 0.4:
            pass
        elif roll < 0.7:
            case, mid = rng.choice(sent)
            headers, subject = f"In-Reply-To: {mid}\r\nReferences: {mid}\r\n", f"Re: [case {case}] update"
        elif roll < 0.8:
            case = rng.randrange(1, 201)
            sender = f"user{(case - 1) % 400}@cust{(case - 1) % 40}.example"
            subject = f"Re: [case {case}] more"
        elif roll < 0.9:
            headers = "Auto-Submitted: auto-replied\r\n" if rng.random() < 0.5 else "Return-Path: <>\r\n"
            subject = "Out of office"
        elif out:
            out.append(rng.choice(out))
            continue
        body = ("Hello,\r\n\r\nthe nightly export stopped again with error 42.\r\n\r\n"
                "On Mon, Desk wrote:\r\n> Could you send the log?\r\n\r\n-- \r\nA customer\r\n")
        out.append((f"From: <{sender}>\r\nTo: {DESK}\r\nSubject: {subject}\r\n"
                    f"Message-ID: <b{i}.{uuid.uuid4().hex}@x>\r\n"
                    f"Date: Mon, 30 Nov 2026 10:00:00 +0000\r\n{headers}\r\n{body}").encode())
    return out


def big_message(mb: int) -> bytes:
    payload_bytes = int(mb * 1024 * 1024 * 3 / 4) - 2000  # base64 grows it by a third
    data = os.urandom(payload_bytes)
    encoded = base64.encodebytes(data)
    head = (f"From: <ann@initech.example>\r\nTo: {DESK}\r\nSubject: the big log\r\n"
            f"Message-ID: <big.{uuid.uuid4().hex}@x>\r\n"
            'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
            "Content-Type: text/plain\r\n\r\nThe dump is attached.\r\n--B\r\nContent-Type: application/pdf\r\n"
            'Content-Disposition: attachment; filename="dump.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n')
    return head.encode() + encoded.replace(b"\n", b"\r\n") + b"\r\n--B--\r\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--big-mb", type=int, default=30)
    ap.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    args = ap.parse_args()
    base = os.environ.get("DESKCONSOLE_TEST_IMAP_URL")
    password = os.environ.get("DESKCONSOLE_TEST_IMAP_PASSWORD", "")
    if not base:
        print("error: set DESKCONSOLE_TEST_IMAP_URL (eval \"$(scripts/dovecot-throwaway.sh start)\")", file=sys.stderr)
        return 1
    from imapclient import IMAPClient

    tmp = tempfile.mkdtemp(prefix="mailbench.")
    url = args.db or f"sqlite:///{tmp}/desk.db"
    svc, sent = desk(url)
    svc.engine.dispose()
    parts = urlsplit(base)
    folder = f"bench{uuid.uuid4().hex[:8]}"
    client = IMAPClient(parts.hostname, port=parts.port, ssl=False)
    client.login(parts.username, password)
    client.create_folder(folder)
    messages = mixed(args.messages, sent, random.Random(7))
    for raw in messages:
        client.append(folder, raw)
    env = {**os.environ, "DESKCONSOLE_IMAP_URL": f"imap://{parts.username}@{parts.hostname}:{parts.port}/{folder}",
           "DESKCONSOLE_IMAP_PASSWORD": password, "DESKCONSOLE_NOW": NOW, "DESKCONSOLE_SMTP_FROM": DESK,
           "DESKCONSOLE_MAIL_LOOP_LIMIT": "1000"}
    # memory first (then the fetch)
    raw = big_message(args.big_mb)
    path = os.path.join(tmp, "big.eml")
    with open(path, "wb") as f:
        f.write(raw)
    del raw
    # Measured from a small launcher process: a child forked from this (large) process would count
    # this process's memory in its own peak until it execs.
    launcher = (
        "import resource, subprocess, sys, time\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    t = time.perf_counter()\n"
        "    r = subprocess.run(sys.argv[2:], stdin=f, capture_output=True, text=True)\n"
        "    took = time.perf_counter() - t\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, took, r.stdout.strip(), sep='\\t')\n"
    )
    measured = subprocess.run([sys.executable, "-c", launcher, path, sys.executable, "-m", "deskconsole", "--db", url,
                               "mail", "receive"], env=env, capture_output=True, text=True)
    peak, took, line = measured.stdout.strip().split("\t", 2)
    print(f"mail receive of a {os.path.getsize(path) / 1e6:.1f} MB message: {float(took):.2f} s, "
          f"peak memory {float(peak):.0f} MB; {line}")
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "deskconsole", "--db", url, "mail", "fetch"], env=env,
                          capture_output=True, text=True)
    took = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    outcomes: dict[str, int] = {}
    for line in done.stdout.splitlines():
        key = line.split('"outcome": ')[1].split(",")[0].strip('"') if '"outcome": ' in line else "?"
        outcomes[key] = outcomes.get(key, 0) + 1
    client.delete_folder(folder)
    client.logout()
    print(f"mail fetch: {len(messages)} messages in {took:.2f} s = {len(messages) / took:.0f} messages/s; "
          f"its CPU time {cpu:.2f} s = {len(messages) / cpu:.0f} messages per CPU second; "
          f"load {os.getloadavg()[0]:.1f} (exit {done.returncode}; {dict(sorted(outcomes.items()))})"
          f"{' ' + done.stderr.strip() if done.stderr else ''}")

    return 0


if __name__ == "__main__":
    raise SystemExit(main())
