"""Issue 13: the inbound mail parser (deskconsole.mail.parse) on messages shaped like real mail."""

from __future__ import annotations

import base64
import io
import zipfile

from deskconsole.mail import parse
from deskconsole.mail.parse import html_to_text, parse_message, reply_text


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


OUTLOOK_REPLY = crlf("""\
Received: from mx.initech.example by mx.support.example; Mon, 30 Nov 2026 10:00:01 +0000
From: "Müller, Ann" <Ann.Mueller@Initech.example>
To: Support <desk@support.example>
Subject: =?utf-8?q?AW=3A_=5Bcase_12=5D_Bitte_best=C3=A4tigen?=
Date: Mon, 30 Nov 2026 10:00:00 +0000
Message-ID: <AM0PR01MB1234.5678@AM0PR01MB1234.eurprd01.prod.outlook.com>
In-Reply-To: <c12.o345.AbCdEfGh1234@support.example>
References: <case-12@support.example>
 <c12.o345.AbCdEfGh1234@support.example>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Still broken after the update, see the log.=0A=
Kind regards
Ann

From: Support <desk@support.example>
Sent: Monday, 30 November 2026 09:00
To: Ann
Subject: [case 12] Please confirm our resolution

We believe your case is resolved.
--b1
Content-Type: text/html; charset="utf-8"

<html><body><p>Still broken after the update, see the log.</p></body></html>
--b1--
""")


def test_an_outlook_reply_gives_sender_subject_thread_ids_and_the_new_words_only():
    p = parse_message(OUTLOOK_REPLY)
    assert p.refused is None and p.machine is None
    assert p.message_id == "<AM0PR01MB1234.5678@AM0PR01MB1234.eurprd01.prod.outlook.com>" and p.has_message_id
    assert p.from_addr == "ann.mueller@initech.example" and p.from_name == "Müller, Ann"
    assert p.subject == "AW: [case 12] Bitte bestätigen"
    assert p.in_reply_to == ["<c12.o345.AbCdEfGh1234@support.example>"]
    assert p.references == ["<case-12@support.example>", "<c12.o345.AbCdEfGh1234@support.example>"]
    assert p.thread_ids[0] == "<c12.o345.AbCdEfGh1234@support.example>"
    assert p.reply == "Still broken after the update, see the log.\nKind regards\nAnn"
    assert "We believe your case is resolved." in p.text  # the full text is kept


def test_quoted_history_and_signatures_are_stripped_from_the_reply():
    text = ("Works now, thanks!\n\nOn Mon, 30 Nov 2026 at 09:00, Support Desk\n<desk@support.example> wrote:\n"
            "> We believe it is fixed.\n> Regards\n")
    assert reply_text(text) == "Works now, thanks!"
    assert reply_text("Yes.\n\n-- \nAnn Müller\nInitech\n") == "Yes."
    assert reply_text("Fine\n\nSent from my iPhone\n") == "Fine"
    assert reply_text("ok\n-----Original Message-----\nFrom: x\n") == "ok"
    assert reply_text("Am 30.11.2026 um 09:00 schrieb Support <d@s.example>:\n> alt") == ""
    # inline answers between quotes are kept, the quotes are not
    assert reply_text("> question one?\nanswer one\n> question two?\nanswer two") == "answer one\nanswer two"


def test_a_message_without_message_id_gets_one_from_its_content_and_copies_match():
    body = ("From: ann@initech.example\nTo: desk@support.example\nSubject: help\n"
            "Date: Mon, 30 Nov 2026 10:00:00 +0000\n\nPrinter jam\n")
    a = parse_message(("Received: from a by b; Mon, 30 Nov 2026\n" + body).encode())
    b = parse_message(("Received: from c by d; Tue, 1 Dec 2026\nDelivered-To: x@y\n" + body).encode())
    c = parse_message(body.replace("Printer jam", "Paper jam").encode())
    assert not a.has_message_id
    assert a.message_id.startswith("<content.") and a.message_id.endswith("@deskconsole.invalid>")
    assert a.message_id == b.message_id  # the same message delivered twice
    assert c.message_id != a.message_id


def test_unknown_charset_8bit_headers_and_encoded_words_decode_without_error():
    raw = (b"From: =?x-unknown?q?Jos=E9?= <jose@initech.example>\n"
           b"Subject: Caf\xe9 au lait =?utf-8?b?4pyU?=\n"
           b"Message-ID: <8bit@initech.example>\n"
           b"Content-Type: text/plain; charset=x-made-up\n"
           b"Content-Transfer-Encoding: 8bit\n\n"
           b"Caf\xc3\xa9 cr\xc3\xa8me\n")
    p = parse_message(raw)
    assert p.refused is None
    assert p.subject.startswith("Café au lait")  # Latin-1 bytes in a header read as Latin-1
    assert p.text == "Café crème"  # an unknown charset: UTF-8 when the bytes are UTF-8
    raw_latin = b"From: a@b.example\nContent-Type: text/plain; charset=bogus\n\nna\xefve\n"
    assert parse_message(raw_latin).text == "naïve"  # otherwise Latin-1


def test_html_only_mail_becomes_text_without_scripts_or_styles():
    raw = crlf("""\
From: ann@initech.example
Subject: html
Content-Type: text/html; charset=utf-8

<html><head><style>p{color:red}</style><title>t</title></head><body>
<p>Hello&nbsp;desk,</p><div>the <b>export</b> fails &amp; crashes<br>every time.</div>
<script>alert(1)</script><blockquote>your earlier mail</blockquote></body></html>
""")
    p = parse_message(raw)
    assert "Hello desk," in p.text and "the export fails & crashes\nevery time." in p.text
    assert "alert" not in p.text and "color" not in p.text
    assert p.reply == "Hello desk,\n\nthe export fails & crashes\nevery time."  # the blockquote is history
    assert html_to_text("<p>a</p><p>b</p>") == "a\n\nb"


def test_from_line_folded_headers_and_an_old_bounce_from_2001():
    raw = crlf("""\
From MAILER-DAEMON Tue Mar 13 04:22:01 2001
Return-Path: <>
Received: from localhost (localhost)
\tby mail.example.com (8.9.3/8.9.3) id EAA11111;
\tTue, 13 Mar 2001 04:22:01 -0500
Date: Tue, 13 Mar 2001 04:22:01 -0500
From: Mail Delivery Subsystem <MAILER-DAEMON@mail.example.com>
Message-Id: <200103130922.EAA11111@mail.example.com>
To: <desk@support.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="EAA11111.984475321/mail.example.com"
Subject: Returned mail: User unknown
Auto-Submitted: auto-generated (failure)

This is a MIME-encapsulated message

--EAA11111.984475321/mail.example.com

The original message was received at Tue, 13 Mar 2001 04:22:00 -0500

   ----- The following addresses had permanent fatal errors -----
<nobody@mail.example.com>

--EAA11111.984475321/mail.example.com
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: RFC822; nobody@mail.example.com
Action: failed
Status: 5.1.1

--EAA11111.984475321/mail.example.com--
""")
    p = parse_message(raw)
    assert p.refused is None
    assert p.message_id == "<200103130922.EAA11111@mail.example.com>"
    assert p.return_path == "" and p.from_addr == "mailer-daemon@mail.example.com"
    assert p.machine is not None and "auto" in p.machine.lower()
    assert p.date is not None and p.date.year == 2001


def machine(headers: str, **kw) -> str | None:
    return parse_message(f"From: ann@initech.example\n{headers}\n\nhi\n".encode(), **kw).machine


def test_machine_mail_is_recognised_by_each_sign():
    assert "Auto-Submitted: auto-replied" in machine("Auto-Submitted: auto-replied")
    assert machine("Auto-Submitted: no") is None
    assert "X-Autoreply" in machine("X-Autoreply: yes")
    assert "X-Auto-Response-Suppress" in machine("X-Auto-Response-Suppress: All")
    for value in ("bulk", "junk", "list"):
        assert value in machine(f"Precedence: {value}")
    assert machine("Precedence: first-class") is None
    assert "empty return path" in machine("Return-Path: <>")
    assert parse_message(b"From: postmaster@initech.example\n\nx\n").machine == "a bounce (postmaster)"
    assert "delivery status" in machine('Content-Type: multipart/report; report-type=delivery-status; boundary="x"')
    assert "disposition-notification" in machine(
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="x"')
    own = frozenset({"ann@initech.example"})
    assert "own address" in machine("X: y", own_addresses=own)
    assert machine("X: y") is None


def test_attachments_are_listed_with_hash_and_stored_within_limits(monkeypatch):
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:  # 20 MB of zeros: a small zip bomb
        z.writestr("zeros.bin", b"\0" * 20_000_000)
    bomb = zbuf.getvalue()
    monkeypatch.setattr(parse, "MAX_ATTACHMENT_BYTES", 50_000)
    big = b"x" * 60_000
    parts = [("log.txt", "text/plain", b"line 1\nline 2\n"), ("bomb.zip", "application/zip", bomb),
             ("big.bin", "application/octet-stream", big)]
    msg = ["From: ann@initech.example", "Subject: files", "MIME-Version: 1.0",
           'Content-Type: multipart/mixed; boundary="XX"', "", "--XX", "Content-Type: text/plain", "", "see files"]
    for name, ctype, data in parts:
        msg += ["--XX", f"Content-Type: {ctype}", f'Content-Disposition: attachment; filename="{name}"',
                "Content-Transfer-Encoding: base64", "", base64.encodebytes(data).decode()]
    msg.append("--XX--")
    p = parse_message("\n".join(msg).encode())
    assert p.reply == "see files"
    listed = {a.name: a for a in p.attachments}
    assert set(listed) == {"log.txt", "bomb.zip", "big.bin"}
    assert listed["bomb.zip"].size == len(bomb) and listed["bomb.zip"].data == bomb  # never unpacked
    assert listed["big.bin"].data is None and "attachment limit" in listed["big.bin"].note
    assert listed["big.bin"].size == 60_000 and len(listed["big.bin"].sha256) == 64
    assert listed["log.txt"].content_type == "text/plain" and listed["log.txt"].data == b"line 1\nline 2\n"


def test_a_thousand_attachments_are_all_listed_and_at_most_200_stored():
    msg = ["From: ann@initech.example", "Subject: many", 'Content-Type: multipart/mixed; boundary="B"', "",
           "--B", "Content-Type: text/plain", "", "lots"]
    for i in range(1000):
        msg += ["--B", "Content-Type: application/octet-stream",
                f'Content-Disposition: attachment; filename="f{i}.bin"', "", f"data {i}"]
    msg.append("--B--")
    p = parse_message("\n".join(msg).encode())
    assert p.refused is None and len(p.attachments) == 1000
    assert sum(a.data is not None for a in p.attachments) == 200
    assert p.attachments[999].note == "not stored: more than 200 attachments"


def test_size_limits_refuse_with_a_reason(monkeypatch):
    monkeypatch.setattr(parse, "MAX_MESSAGE_BYTES", 10_000)
    p = parse_message(b"From: ann@initech.example\nMessage-ID: <big@x>\n\n" + b"a" * 20_000)
    assert p.refused.startswith("the message is") and "limit" in p.refused
    assert p.message_id == "<big@x>" and p.from_addr == "ann@initech.example"  # still known
    huge_header = b"From: ann@initech.example\nX-Junk: " + b"y" * (1024 * 1024) + b"\nSubject: s\n\nbody\n"
    monkeypatch.setattr(parse, "MAX_MESSAGE_BYTES", 50 * 1024 * 1024)
    ok = parse_message(huge_header)  # a 1 MB header is read
    assert ok.refused is None and ok.subject == "s" and ok.text == "body"
    monkeypatch.setattr(parse, "MAX_HEADER_BYTES", 512 * 1024)
    assert "header section" in parse_message(huge_header).refused
    assert parse_message(b"").refused == "the message is empty"


def test_malformed_mime_never_raises():
    samples = [
        b'From: a@b.example\nContent-Type: multipart/mixed; boundary="never"\n\nno parts at all\n',
        b"From: a@b.example\nContent-Type: multipart/mixed\n\n--\n--\n",
        b"From: a@b.example\nContent-Transfer-Encoding: base64\n\n!!!not base64@@@\n",
        b"From: a@b.example\nContent-Transfer-Encoding: quoted-printable\n\n=ZZ=\n",
        b"From: =?utf-8?b?broken\nSubject: =?unknown?x?abc?=\n\nx\n",
        b"From: <<<>>>@@@\nTo: ,,,\nDate: not a date\nIn-Reply-To: garbage\n\nx\n",
        b"\x00\x01\x02binary junk\xff\xfe",
        b"Subject: nested\nContent-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\n"
        b"Subject: inner\n\ninner body\n--a--\n",
    ]
    for raw in samples:
        p = parse_message(raw)
        assert p.message_id.startswith("<") and isinstance(p.text, str)
        assert "\x00" not in p.text and "\x00" not in p.subject


def test_deep_nesting_stops_at_the_limit():
    depth = 200
    raw = "From: a@b.example\nSubject: deep\n"
    for i in range(depth):
        raw += f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n'
    raw += "Content-Type: text/plain\n\ncore\n"
    for i in reversed(range(depth)):
        raw += f"--b{i}--\n"
    p = parse_message(raw.encode())
    assert p.refused is None
    assert any("nested deeper" in d for d in p.defects)


def test_a_large_message_has_its_big_parts_taken_out_before_parsing_with_the_same_result(monkeypatch):
    blob = bytes(range(256)) * 4000  # ~1 MB
    raw = crlf(
        "From: ann@initech.example\nSubject: big\nMessage-ID: <big@initech.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="OUT"\n\npreamble\n--OUT\n'
        'Content-Type: multipart/alternative; boundary="IN"\n\n--IN\nContent-Type: text/plain\n\nsee the dump\n'
        "--IN\nContent-Type: text/html\n\n<p>see the dump</p>\n--IN--\n--OUT\n"
        'Content-Type: application/octet-stream\nContent-Disposition: attachment; filename="dump.bin"\n'
        "Content-Transfer-Encoding: base64\n\n" + base64.encodebytes(blob).decode() + "--OUT--\n")
    whole = parse_message(raw)
    monkeypatch.setattr(parse, "SKELETON_ABOVE", 1000)
    monkeypatch.setattr(parse, "BIG_PART", 10_000)
    cut = parse_message(raw)
    assert whole.kept is None and cut.kept is not None and len(cut.kept) < 2000
    assert b"X-Deskconsole-Extracted: 0" in cut.kept and b"see the dump" in cut.kept
    assert [(a.name, a.size, a.sha256, a.data) for a in cut.attachments] == [
        (a.name, a.size, a.sha256, a.data) for a in whole.attachments] == [
        ("dump.bin", len(blob), whole.attachments[0].sha256, blob)]
    assert (cut.text, cut.reply, cut.subject) == (whole.text, whole.reply, whole.subject) == (
        "see the dump", "see the dump", "big")
