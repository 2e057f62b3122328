"""The e-mails deskconsole sends: one template per outbox kind, plain text plus HTML.

Messages to customers are written in the case's language when deskconsole has
it (English, German, French; a tag like `de-CH` uses `de`), otherwise English.
Messages to the team (escalation requested or denied, status update due) are in
English. A kind without a template is sent as the outbox row's own subject and
body, so nothing queued is ever left unsent for want of a template.

Each message's words are written once, here: the subject and body an outbox row
keeps (`row_text`: what the console's Outbox pane shows) are its template's
English text filled with the values the row is queued with, without the footer
(the reply instruction only mail needs: delivery adds it, once);
a kind whose template quotes the row's own body (a comment, a status update, a
breach list) keeps the body that was written.

A template is a subject plus blocks. A block is a paragraph (a string.Template)
or `@field`, the field's text set apart as a quotation (a resolution, a comment,
a reason). A paragraph whose fields are missing is left out. In the HTML part
every value and every paragraph is escaped with html.escape: case text is
untrusted and is shown literally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template
from typing import Any

from deskconsole.domain.asking import asked_words
from deskconsole.domain.text import without_controls

LANGUAGES = ("en", "de", "fr")
DEFAULT_LANGUAGE = "en"

CUSTOMER_KINDS = frozenset({
    "awaiting_confirmation", "question", "reminder", "survey", "followup", "comment", "status_update",
    "escalation_approved", "de_escalated", "defect_logged", "enhancement_logged", "closed_reply",
})
# Kinds sent without the footer asking to keep [case N] in the subject.
_NO_FOOTER = frozenset({"closed_reply"})
STAFF_KINDS = frozenset({"escalation_requested", "escalation_denied", "status_update_due", "sla_breach"})

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    language: str


@dataclass(frozen=True)
class _Tpl:
    subject: str
    blocks: tuple[str, ...]


def _t(subject: str, *blocks: str) -> _Tpl:
    return _Tpl(subject, blocks)


# ---------------------------------------------------------------- templates
_CUSTOMER: dict[str, dict[str, _Tpl]] = {
    "awaiting_confirmation": {
        "en": _t(
            "[case $case] Please confirm our resolution",
            "We believe your case $case ($title) is resolved. Our resolution:",
            "@resolution",
            "If the problem is solved, please reply with the word CONFIRM at the start of your answer and we "
            "will close the case. If it is not, reply and tell us what still goes wrong: the case reopens at once.",
            "Without an answer the case closes on $close_date.",
        ),
        "de": _t(
            "[case $case] Bitte bestätigen Sie unsere Lösung",
            "Wir gehen davon aus, dass Ihr Fall $case ($title) gelöst ist. Unsere Lösung:",
            "@resolution",
            "Wenn das Problem behoben ist, bestätigen Sie das bitte mit einer Antwort, die mit dem Wort CONFIRM "
            "(oder BESTÄTIGT) beginnt; dann schließen wir den Fall. "
            "Wenn nicht, antworten Sie uns und beschreiben Sie, was noch nicht funktioniert: Der Fall wird sofort "
            "wieder geöffnet.",
            "Ohne Antwort wird der Fall am $close_date geschlossen.",
        ),
        "fr": _t(
            "[case $case] Merci de confirmer notre solution",
            "Nous pensons que votre dossier $case ($title) est résolu. Notre solution :",
            "@resolution",
            "Si le problème est réglé, répondez-nous par un message commençant par le mot CONFIRM (ou CONFIRMÉ) "
            "et nous clôturerons le dossier. Sinon, "
            "répondez en décrivant ce qui ne fonctionne toujours pas : le dossier sera aussitôt rouvert.",
            "Sans réponse de votre part, le dossier sera clôturé le $close_date.",
        ),
    },
    "question": {
        "en": _t(
            "[case $case] We need information from you",
            "To go on with your case $case ($title) we need an answer from you:",
            "@question",
            "Please reply to this message.",
        ),
        "de": _t(
            "[case $case] Wir benötigen Informationen von Ihnen",
            "Um Ihren Fall $case ($title) weiterzubearbeiten, benötigen wir eine Antwort von Ihnen:",
            "@question",
            "Bitte antworten Sie auf diese Nachricht.",
        ),
        "fr": _t(
            "[case $case] Nous avons besoin d'informations",
            "Pour poursuivre votre dossier $case ($title), nous avons besoin d'une réponse de votre part :",
            "@question",
            "Merci de répondre à ce message.",
        ),
    },
    "reminder": {
        "en": _t(
            "[case $case] We are waiting for your answer",
            "Your case $case ($title) is waiting for information from you. Please reply to this message with what "
            "we asked for.",
            "$asked_intro",
            "@question",
            "Without an answer the case closes on $close_date.",
        ),
        "de": _t(
            "[case $case] Wir warten auf Ihre Antwort",
            "Ihr Fall $case ($title) wartet auf Informationen von Ihnen. Bitte antworten Sie auf diese Nachricht "
            "mit den erbetenen Angaben.",
            "$asked_intro",
            "@question",
            "Ohne Antwort wird der Fall am $close_date geschlossen.",
        ),
        "fr": _t(
            "[case $case] Nous attendons votre réponse",
            "Votre dossier $case ($title) attend des informations de votre part. Merci de répondre à ce message "
            "avec les éléments demandés.",
            "$asked_intro",
            "@question",
            "Sans réponse de votre part, le dossier sera clôturé le $close_date.",
        ),
    },
    "survey": {
        "en": _t(
            "[case $case] How did we do?",
            "Your case $case ($title) is closed. How satisfied are you with our support?",
            "Reply to this message with a number from 1 to 5 on the first line (1 = very dissatisfied, "
            "5 = very satisfied). Add a comment below it if you like; we read every one.",
        ),
        "de": _t(
            "[case $case] Wie zufrieden waren Sie?",
            "Ihr Fall $case ($title) ist abgeschlossen. Wie zufrieden sind Sie mit unserem Support?",
            "Antworten Sie auf diese Nachricht mit einer Zahl von 1 bis 5 in der ersten Zeile (1 = sehr "
            "unzufrieden, 5 = sehr zufrieden). Gern können Sie darunter einen Kommentar schreiben; wir lesen jeden.",
        ),
        "fr": _t(
            "[case $case] Votre avis sur notre support",
            "Votre dossier $case ($title) est clôturé. Êtes-vous satisfait de notre support ?",
            "Répondez à ce message avec un chiffre de 1 à 5 sur la première ligne (1 = très insatisfait, "
            "5 = très satisfait). Ajoutez un commentaire en dessous si vous le souhaitez ; nous les lisons tous.",
        ),
    },
    "followup": {
        "en": _t(
            "[case $case] Following up",
            "Your case $case ($title) was closed yesterday. If anything is still wrong, reply to this message and "
            "we will open a new case linked to it.",
        ),
        "de": _t(
            "[case $case] Nachfrage zu Ihrem Fall",
            "Ihr Fall $case ($title) wurde gestern geschlossen. Falls noch etwas nicht stimmt, antworten Sie auf "
            "diese Nachricht; wir eröffnen dann einen neuen, damit verknüpften Fall.",
        ),
        "fr": _t(
            "[case $case] Suivi de votre dossier",
            "Votre dossier $case ($title) a été clôturé hier. Si quelque chose ne va toujours pas, répondez à ce "
            "message et nous ouvrirons un nouveau dossier lié à celui-ci.",
        ),
    },
    "comment": {
        "en": _t("[case $case] $title", "A message from $agent about your case $case:", "@body"),
        "de": _t("[case $case] $title", "Eine Nachricht von $agent zu Ihrem Fall $case:", "@body"),
        "fr": _t("[case $case] $title", "Un message de $agent concernant votre dossier $case :", "@body"),
    },
    "status_update": {
        "en": _t("[case $case] Status update", "The daily status update on your escalated case $case ($title):",
                 "@body"),
        "de": _t("[case $case] Statusbericht", "Der tägliche Statusbericht zu Ihrem eskalierten Fall $case ($title):",
                 "@body"),
        "fr": _t("[case $case] Point d'avancement",
                 "Le point quotidien sur votre dossier escaladé $case ($title) :", "@body"),
    },
    "escalation_approved": {
        "en": _t(
            "[case $case] Your escalation is approved",
            "We have approved the escalation of your case $case ($title). It now has priority $priority.",
            "$engineer is your escalation engineer and your primary contact from now on.",
            "We will keep you informed by $comm_mode, $comm_frequency.",
        ),
        "de": _t(
            "[case $case] Ihre Eskalation wurde genehmigt",
            "Wir haben die Eskalation Ihres Falls $case ($title) genehmigt. Er hat jetzt die Priorität $priority.",
            "$engineer ist ab sofort Ihr Eskalationsingenieur und Ihr erster Ansprechpartner.",
            "Wir informieren Sie per $comm_mode, $comm_frequency.",
        ),
        "fr": _t(
            "[case $case] Votre demande d'escalade est acceptée",
            "Nous avons accepté l'escalade de votre dossier $case ($title). Sa priorité est désormais $priority.",
            "$engineer est désormais votre ingénieur d'escalade et votre interlocuteur principal.",
            "Nous vous tiendrons informé par $comm_mode, $comm_frequency.",
        ),
    },
    "de_escalated": {
        "en": _t("[case $case] Escalation closed",
                 "As agreed with you, case $case ($title) is de-escalated and continues at priority $priority."),
        "de": _t("[case $case] Eskalation beendet",
                 "Wie mit Ihnen vereinbart, ist die Eskalation von Fall $case ($title) beendet; er wird mit "
                 "Priorität $priority weiterbearbeitet."),
        "fr": _t("[case $case] Fin de l'escalade",
                 "Comme convenu avec vous, l'escalade du dossier $case ($title) est terminée ; il se poursuit en "
                 "priorité $priority."),
    },
    "engineering": {
        "en": _t(
            "[case $case] Logged with engineering as $reference",
            "We have logged your case $case ($title) with our engineering team as $item $reference.",
            "Please quote this reference when you ask about it; we will tell you when it moves.",
        ),
        "de": _t(
            "[case $case] An die Entwicklung gemeldet: $reference",
            "Wir haben Ihren Fall $case ($title) als $item $reference an unsere Entwicklung gemeldet.",
            "Bitte geben Sie diese Referenz an, wenn Sie danach fragen; wir melden uns, sobald sich etwas tut.",
        ),
        "fr": _t(
            "[case $case] Transmis à l'équipe de développement : $reference",
            "Nous avons transmis votre dossier $case ($title) à notre équipe de développement comme $item "
            "$reference.",
            "Merci de rappeler cette référence dans vos échanges ; nous vous informerons de son avancement.",
        ),
    },
}

# The automatic answer to a customer who wrote to a closed case (sent as Auto-Submitted:
# auto-replied, at most once a day per sender and case: service/mail.py).
_CUSTOMER["closed_reply"] = {
    "en": _t(
        "[case $case] This case is closed",
        "Thank you for your message. Your case $case ($title) is closed, so it cannot be taken up again; "
        "your message is kept on it.",
        "If you still need help, please write to us in a new message (not a reply to this one, and without "
        "[case $case] in the subject): we will open a new case for it.",
    ),
    "de": _t(
        "[case $case] Dieser Fall ist abgeschlossen",
        "Vielen Dank für Ihre Nachricht. Ihr Fall $case ($title) ist abgeschlossen und kann nicht wieder "
        "aufgenommen werden; Ihre Nachricht ist bei ihm gespeichert.",
        "Wenn Sie weiterhin Hilfe brauchen, schreiben Sie uns bitte eine neue Nachricht (keine Antwort auf "
        "diese und ohne [case $case] im Betreff): Wir eröffnen dafür einen neuen Fall.",
    ),
    "fr": _t(
        "[case $case] Ce dossier est clôturé",
        "Merci de votre message. Votre dossier $case ($title) est clôturé et ne peut pas être repris ; "
        "votre message y est conservé.",
        "Si vous avez encore besoin d'aide, écrivez-nous dans un nouveau message (pas en réponse à celui-ci, "
        "et sans [case $case] dans l'objet) : nous ouvrirons un nouveau dossier.",
    ),
}

_FOOTER = {
    "en": "Please keep [case $case] in the subject when you reply.",
    "de": "Bitte lassen Sie [case $case] im Betreff stehen, wenn Sie antworten.",
    "fr": "Merci de conserver [case $case] dans l'objet de votre réponse.",
}

_WORDS = {
    "defect": {"en": "defect", "de": "Fehler", "fr": "anomalie"},
    "enhancement": {"en": "enhancement request", "de": "Verbesserungswunsch", "fr": "demande d'évolution"},
    "email": {"en": "e-mail", "de": "E-Mail", "fr": "e-mail"},
    "phone": {"en": "phone", "de": "Telefon", "fr": "téléphone"},
    "conference_call": {"en": "conference call", "de": "Telefonkonferenz", "fr": "conférence téléphonique"},
}

# The reminder's line before the question it quotes: asked in our message, or asked outside the
# desk ({how}: by phone, ...), with or without the question's words recorded.
_ASKED_INTRO = {
    "sent": {"en": "We asked:", "de": "Unsere Frage:", "fr": "Notre question :"},
    "outside": {"en": "We asked you {how}:", "de": "Wir haben Sie {how} gefragt:",
                "fr": "Nous vous avons demandé {how} :"},
    "outside_bare": {"en": "We asked you for it {how}.", "de": "Wir haben Sie {how} danach gefragt.",
                     "fr": "Nous vous l'avons demandé {how}."},
}
# (in English: domain/asking.py's words, which the console shows too)
_ASKED_HOW = {
    "phone": {"de": "telefonisch", "fr": "par téléphone"},
    "email": {"de": "per E-Mail", "fr": "par e-mail"},
    "chat": {"de": "im Chat", "fr": "par chat"},
    "in_person": {"de": "persönlich", "fr": "en personne"},
}


def _asked_intro(question: str | None, how: str | None, language: str) -> str | None:
    if how:
        words = _ASKED_HOW.get(how, {}).get(language) or asked_words(how)
        return _ASKED_INTRO["outside" if question else "outside_bare"][language].format(how=words)
    return _ASKED_INTRO["sent"][language] if question else None


_STAFF: dict[str, _Tpl] = {
    "escalation_requested": _t(
        "[case $case] Escalation requested: $title",
        "$requested_by asks to escalate case $case ($priority, $status) for $customer.",
        "Reason:",
        "@reason",
        "Review it in deskconsole's Escalation review, or decide it with: "
        "deskconsole escalation decide $case approve|deny --reason TEXT",
    ),
    "escalation_denied": _t(
        "[case $case] Escalation denied: explain the decision to the customer",
        "$decided_by denied the escalation of case $case ($title) for $customer.",
        "Reason:",
        "@reason",
        "Please explain the decision to the customer; the case carries on normally.",
    ),
    "status_update_due": _t(
        "[case $case] Daily status update due",
        "Escalated case $case ($title) is due its daily status update to $customer.",
    ),
    "sla_breach": _t(  # (the row's body names the targets and when they were breached: service/sla.py)
        "[case $case] Service level breached: $title",
        "@body",
        "See it with: deskconsole case show $case",
    ),
}


# ---------------------------------------------------------------- rendering
def pick_language(tag: str | None) -> str:
    """The template language for a case's language tag: de-CH → de; unknown or none → en."""
    if not tag:
        return DEFAULT_LANGUAGE
    primary = tag.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def word(key: str | None, language: str) -> str | None:
    """A fixed term (defect, phone, …) in `language`; unknown terms as given, underscores as spaces."""
    if key is None:
        return None
    return _WORDS.get(key, {}).get(language) or key.replace("_", " ")


def clean(value: object) -> str | None:
    """Text safe for a message: no control characters except newline and tab (domain/text.py)."""
    return without_controls(value)


def one_line(value: str, limit: int = 200) -> str:
    """For headers: whitespace collapsed, control characters gone, at most `limit` characters."""
    text = _SPACE.sub(" ", clean(value) or "").strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fields(template: Template, values: Mapping[str, str | None]) -> bool:
    return all(values.get(name) not in (None, "") for name in template.get_identifiers())


def _compose(
    tpl: _Tpl, values: Mapping[str, str | None], footer: str | None, language: str, *, with_html: bool = True
) -> Rendered:
    import html  # (here, not at the top: the package loads html.entities, half a megabyte a console only
    #              needs once it writes mail)

    subject_values = {k: one_line(v, 120) if v is not None else "" for k, v in values.items()}
    subject = one_line(Template(tpl.subject).safe_substitute(subject_values), 250)
    text_parts: list[str] = []
    html_parts: list[str] = []
    escaped = {k: html.escape(v) for k, v in values.items() if v is not None} if with_html else {}
    blocks = tpl.blocks + ((footer,) if footer else ())
    for index, block in enumerate(blocks):
        is_footer = footer is not None and index == len(blocks) - 1
        if block.startswith("@"):
            quoted = values.get(block[1:])
            if not quoted:
                continue
            text_parts.append("\n".join("    " + line if line else "" for line in quoted.split("\n")))
            if with_html:
                html_parts.append(
                    '<blockquote style="white-space: pre-wrap; border-left: 3px solid #ccc; margin: 0 0 1em 0; '
                    f'padding-left: 1em">{html.escape(quoted)}</blockquote>'
                )
            continue
        template = Template(block)
        if not _fields(template, values):
            continue
        text_parts.append(template.substitute(values))
        if not with_html:
            continue
        style = ' style="color: #666; font-size: smaller"' if is_footer else ""
        html_parts.append(f"<p{style}>{Template(html.escape(block, quote=False)).substitute(escaped)}</p>")
    text = "\n\n".join(text_parts) + "\n"
    if not with_html:
        return Rendered(subject=subject, text=text, html="", language=language)
    body = "\n".join(html_parts)
    document = (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    return Rendered(subject=subject, text=text, html=document, language=language)


def _filled(kind: str, lang: str, values: Mapping[str, object]) -> tuple[_Tpl, dict[str, str | None], str | None,
                                                                     str] | None:
    """The template of `kind` in `lang` (the team's in English), the values it is filled with (cleaned,
    with the words it adds), its footer and its language; None for a kind without a template."""
    vals: dict[str, str | None] = {k: clean(v) for k, v in values.items()}
    status = vals.get("status")
    if status:
        vals["status"] = status.replace("_", " ")  # (in_progress -> in progress)
    if kind in STAFF_KINDS:
        return _STAFF[kind], vals, None, DEFAULT_LANGUAGE
    if kind in ("defect_logged", "enhancement_logged"):
        vals["item"] = word(kind.removesuffix("_logged"), lang)
        return _CUSTOMER["engineering"][lang], vals, _FOOTER[lang], lang
    if kind in _CUSTOMER:
        if kind == "escalation_approved":
            vals["comm_mode"] = word(vals.get("comm_mode"), lang)
        if kind == "reminder":
            vals["asked_intro"] = _asked_intro(vals.get("question"), vals.get("asked_outside"), lang)
        return _CUSTOMER[kind][lang], vals, None if kind in _NO_FOOTER else _FOOTER[lang], lang
    return None


def render(
    kind: str,
    language: str | None,
    values: Mapping[str, object],
    *,
    fallback_subject: str,
    fallback_body: str,
) -> Rendered:
    """The message for an outbox row of `kind`. `values` are the case's facts (None when unknown)."""
    filled = _filled(kind, pick_language(language), values)
    if filled is not None:
        return _compose(*filled)
    # No template for this kind: the row's own words, in the language they were written in.
    tpl = _Tpl(fallback_subject.replace("$", "$$"), ("@body",))
    fallback = _compose(tpl, {"body": clean(fallback_body)}, None, DEFAULT_LANGUAGE)
    return Rendered(fallback.subject, (clean(fallback_body) or "") + "\n", fallback.html, DEFAULT_LANGUAGE)


def row_text(kind: str, values: Mapping[str, Any]) -> tuple[str, str]:
    """The subject and body an outbox row of `kind` keeps (what the console's Outbox pane shows):
    its template's English text filled with `values`, as an English message of it is sent
    (render(kind, None, values)) but for the footer, which delivery adds. A kind
    whose template quotes the row's own body (a comment, a status update, a breach list) has no
    text of its own to make: its row keeps what was written."""
    filled = _filled(kind, DEFAULT_LANGUAGE, values)
    if filled is None or any(block == "@body" for block in filled[0].blocks):
        raise ValueError(f"an outbox row of kind {kind!r} has no text of its template's")
    tpl, vals, _footer, language = filled
    message = _compose(tpl, vals, None, language, with_html=False)
    return message.subject, message.text.removesuffix("\n")
