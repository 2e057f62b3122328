"""Every key of the console, in one list.

Each entry carries an id, a key, the action it runs, a short label (the footer)
and a sentence (the `?` help and the command palette). Screens build their
``BINDINGS`` from here, the help screen lists the same entries, and the palette
offers them by name, so the three can never disagree. Which pane shows which list, and the
number keys of the panes, are in the pane registry (tui/panes.py). ``roles`` names who is
offered an action; everyone else never sees it (and the service would refuse
it anyway). Entries without a key are reached from the palette only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from deskconsole.domain.editing import EDITORS as _EDITORS
from deskconsole.domain.editing import SPLITTERS as _SPLITTERS
from deskconsole.domain.lifecycle import Role
from deskconsole.domain.permissions import Action, Person, may
from deskconsole.domain.saved_views import CASE_HOLDERS

WORKERS = frozenset({Role.ANALYST, Role.MANAGER})
EDITORS = frozenset(_EDITORS)  # who edits and merges cases (domain/editing.py, domain/merging.py)
SPLITTERS = frozenset(_SPLITTERS)


def offered(action: Action) -> frozenset[Role]:
    """The roles that may do `action` to some case (domain/permissions.py): who is offered its key."""
    return frozenset(role for role in Role if may(Person("", role), action))


@dataclass(frozen=True)
class KeyAction:
    id: str
    key: str | None
    action: str
    label: str
    help: str
    show: bool = True
    roles: frozenset[str] | None = None
    key_display: str | None = None
    builtin: bool = False  # bound by Textual itself (listed, not bound again)
    priority: bool = False  # before the focused widget's own keys (e.g. a text box's ctrl+e)
    rank: int = 2  # the footer's: 1 stays longest as the terminal narrows, 3 goes first (footer_fit)

    def display_key(self) -> str:
        if self.key_display:
            return self.key_display
        if self.key is None:
            return "palette"
        return self.key.split(",")[0]

    def offered_to(self, role: str) -> bool:
        return self.roles is None or role in self.roles


# The keys that work everywhere besides each pane's number (tui/panes.py puts the numbers first: GLOBAL).
EVERYWHERE: list[KeyAction] = [
    KeyAction("help", "question_mark", "app.help", "Help", "List every key of this pane", key_display="?", rank=1),
    KeyAction("palette", "ctrl+p", "app.command_palette", "Commands", "Find any action by name",
              show=False, builtin=True, key_display="ctrl+p"),
    KeyAction("tick", None, "app.tick", "Run timers now", "Fire every timer that is due now"),
    KeyAction("quit", "q", "app.quit", "Quit", "Leave the console"),
]

def moves(pane: str) -> list[KeyAction]:
    """j/k for a pane's lists (the arrows work too)."""
    return [
        KeyAction(f"{pane}.down", "j", "cursor_down", "Down", "Move down (also ↓)", show=False),
        KeyAction(f"{pane}.up", "k", "cursor_up", "Up", "Move up (also ↑)", show=False),
    ]

# Marks and bulk actions in the queue (tui/marks.py): not in the footer (full); the status line names them
# while cases are marked. A bulk action works on the marked cases, or the selected one when none is marked.
MARKS: list[KeyAction] = [
    KeyAction("queue.mark", "space", "toggle_mark", "Mark", "Mark or unmark the selected case for a bulk action",
              show=False, key_display="space"),
    KeyAction("queue.mark_range", "V", "mark_range", "Mark range",
              "Mark every case from the last one marked to the selected one", show=False),
    KeyAction("queue.mark_page", "asterisk", "mark_page", "Mark page",
              "Mark every case on the page (unmark them when all are marked)", show=False, key_display="*"),
    KeyAction("queue.clear_marks", "U", "clear_marks", "Unmark all",
              "Clear every mark (esc too, when no filter is open)", show=False),
    KeyAction("queue.bulk_close", "x", "bulk_close", "Close marked", "Close the marked cases with one reason",
              show=False, roles=offered(Action.CLOSE)),
    KeyAction("queue.bulk_assign", "g", "bulk_assign", "Assign marked",
              "Give the marked cases to an analyst, or back to the team queue", show=False,
              roles=offered(Action.REASSIGN)),
    KeyAction("queue.bulk_move", "m", "bulk_move", "Move marked",
              "Move the marked cases to another status (pending asks the customer your question)", show=False,
              roles=offered(Action.SET_PENDING)),
    KeyAction("queue.bulk_macro", "M", "bulk_macro", "Macro on marked",
              "Apply one of the team's macros to each marked case", show=False, roles=offered(Action.NOTE)),
    KeyAction("queue.bulk_reply", "c", "bulk_reply", "Reply to marked",
              "Write one reply, sent to each marked case's customer", show=False, roles=offered(Action.NOTE)),
]

QUEUE: list[KeyAction] = [
    # (first: Textual's Screen binds tab already, so its footer shows the tab key first; the pre-paint
    # draws the keys in this order)
    KeyAction("queue.view", "tab,v", "cycle_view(1)", "View",
              "Next view tab: Mine, Open, Unassigned, Breached, Escalated, All, then the config file's and yours",
              key_display="tab"),
    KeyAction("queue.view_prev", "shift+tab", "cycle_view(-1)", "Previous view", "The view tab before this one",
              show=False, key_display="shift+tab"),
    KeyAction("queue.save_view", "w", "save_view", "Save view",
              "Save what the queue shows (the view and your / filter) as a view tab of your own", show=False),
    KeyAction("queue.delete_view", "W", "delete_view", "Delete view", "Delete the view tab in front (one you saved)",
              show=False),
    KeyAction("queue.open", "enter", "open_case", "Open", "Open the selected case", key_display="enter"),
    KeyAction("queue.filter", "slash", "filter", "Filter", "Filter the queue as you type", key_display="/", rank=1),
    KeyAction("queue.sort", "s", "cycle_sort", "Sort", "Next sort: oldest, newest, priority, updated, SLA due"),
    KeyAction("queue.take", "t", "take_next", "Take next", "Take the next unassigned case that fits your skills",
              roles=offered(Action.TAKE_NEXT), rank=1),
    KeyAction("queue.next_page", "right_square_bracket", "page(1)", "Next page",
              "Show the next page of cases", key_display="]"),
    KeyAction("queue.prev_page", "left_square_bracket", "page(-1)", "Prev page",
              "Show the previous page of cases", key_display="[", rank=3),
    # (not in the footer, which is full: listed by ? and in the palette; the case pane shows its own while possible)
    KeyAction("queue.undo", "u", "undo_close", "Undo close",
              "Undo the last bulk close or assign within the undo window, else the selected case's close",
              show=False, roles=WORKERS),
    KeyAction("queue.new", "N", "new_case", "New case", "Open a new case for a customer (a phone call)",
              show=False),
    KeyAction("queue.reload", "r", "reload", "Refresh", "Read the queue again", show=False),
    KeyAction("queue.customer", "C", "customer", "Customer",
              "The selected case's customer: their other cases (open first), CSAT and open escalations", show=False),
    KeyAction("queue.clear_filter", "escape", "clear_filter", "Clear filter", "Clear and close the filter",
              show=False, key_display="esc"),
    KeyAction("queue.view.mine", None, "set_view('mine')", "View: mine", "Show open cases assigned to you",
              roles=CASE_HOLDERS),
    KeyAction("queue.view.open", None, "set_view('open')", "View: open", "Show every case not closed"),
    KeyAction("queue.view.unassigned", None, "set_view('unassigned')", "View: unassigned",
              "Show open cases nobody has taken"),
    KeyAction("queue.view.breached", None, "set_view('breached')", "View: breached",
              "Show open cases with a breached service-level target"),
    KeyAction("queue.view.all", None, "set_view('all')", "View: all", "Show every case"),
    KeyAction("queue.view.escalated", None, "set_view('escalated')", "View: escalated",
              "Show cases with an open escalation"),
    *moves("queue"),
    *MARKS,
]

CASE: list[KeyAction] = [
    KeyAction("case.back", "escape", "back", "Back", "Go back to the list you came from", key_display="esc",
              show=False),
    KeyAction("case.start", "w", "start_work", "Start", "Start work: move the case to in progress",
              roles=offered(Action.START_WORK), rank=1),
    KeyAction("case.pending", "p", "pending", "Pending",
              "Set pending, with a sub-status; waiting on the customer sends them your question",
              roles=offered(Action.SET_PENDING), rank=1),
    KeyAction("case.resolve", "a", "resolve", "Resolve", "Give the resolution; await the customer's confirmation",
              roles=offered(Action.RESOLVE), rank=1),
    KeyAction("case.compose", "c", "compose('reply')", "Reply",
              "Write to the customer: the composer, in public reply mode (ctrl+t there makes it an internal note)",
              roles=offered(Action.NOTE), rank=1),
    KeyAction("case.log_reply", "i", "customer_reply", "Log call",
              "Log what the customer said to you (phone call or e-mail)", roles=offered(Action.LOG_CUSTOMER_REPLY),
              show=False),  # (in ? and the palette: the footer is full at 120 columns)
    KeyAction("case.confirmed", "y", "customer_confirmed", "Confirmed",
              "The customer confirmed the resolution (by phone, e-mail or chat): close the case",
              roles=offered(Action.LOG_CONFIRMATION)),
    KeyAction("case.note", "n", "compose('note')", "Note",
              "Write an internal note: the composer, in internal note mode (ctrl+t there makes it a public reply)",
              roles=offered(Action.NOTE), rank=1),
    KeyAction("case.escalate", "e", "request_escalation", "Escalate", "Request escalation for the customer",
              roles=offered(Action.REQUEST_ESCALATION)),
    KeyAction("case.defect", "d", "log_engineering", "Defect", "Log a defect or enhancement with engineering",
              roles=offered(Action.LOG_ENGINEERING),
              show=False),  # (in ? and the palette: M Macro took its place in the footer, full at 120 columns)
    KeyAction("case.article", "b", "link_article", "KB", "Search the knowledge base and link an article",
              roles=offered(Action.LINK_ARTICLE), rank=3),
    KeyAction("case.close", "x", "close_case", "Close", "Close the case with a reason",
              roles=offered(Action.CLOSE), rank=1),
    KeyAction("case.clone", "l", "clone", "Clone", "Open a new case from this closed one", roles=offered(Action.CLONE)),
    KeyAction("case.follow_up", "F", "follow_up", "Follow-up",
              "The customer wrote after close: open a follow-up case with their reply (a clone, linked both ways)",
              roles=offered(Action.CLONE)),
    KeyAction("case.take", "t", "take", "Take", "Assign the case to yourself", roles=offered(Action.TAKE), rank=1),
    KeyAction("case.assign", "g", "reassign", "Reassign", "Give the case to another analyst",
              roles=offered(Action.REASSIGN)),
    KeyAction("case.macro", "M", "apply_macro", "Macro",
              "Apply one of the team's macros: pick it by typing part of its name", rank=3),
    KeyAction("case.undo", "u", "undo_close", "Undo close",
              "Undo your close within the undo window: the case returns and its held messages are withdrawn",
              roles=WORKERS, rank=1),
    # editing (tui/editing.py): in ? and the palette (the footer is full at 120 columns)
    KeyAction("case.edit", "E", "edit_case", "Edit",
              "Edit the case: title, contact, product area, severity, priority and tags", roles=EDITORS, show=False),
    KeyAction("case.unassign", "U", "unassign", "Unassign", "Put the case back in the team queue",
              roles=offered(Action.REASSIGN), show=False),
    KeyAction("case.merge", "m", "merge_case", "Merge",
              "Merge this case into another (asks for its number and shows it first); this one closes "
              "'merged into N'", roles=EDITORS, show=False),
    KeyAction("case.split", "S", "split_message", "Split",
              "Split a customer's message (the one in view) out into a new case of the same customer",
              roles=SPLITTERS, show=False),
    KeyAction("case.new", "N", "new_case", "New case", "Open a new case for a customer (a phone call)",
              show=False),
    KeyAction("case.reload", "r", "reload", "Reload", "Read the case again", show=False),
    KeyAction("case.customer", "C", "customer", "Customer",
              "The customer's other cases (open first), their CSAT and open escalations; enter opens one",
              show=False),
    KeyAction("case.thread", "v", "toggle_thread", "View",
              "Show the conversation with the customer only, or everything (notes, status changes, timers too)",
              rank=3),
    # (not in the footer: the thread's top line says "N earlier messages — press o to load more")
    KeyAction("case.earlier", "o", "earlier", "Earlier", "Load the thread's earlier messages (a page at a time)",
              show=False),
    KeyAction("case.down", "j", "scroll_down", "Down", "Scroll the timeline down (also ↓)", show=False),
    KeyAction("case.up", "k", "scroll_up", "Up", "Scroll the timeline up (also ↑)", show=False),
]

ESCALATIONS: list[KeyAction] = [
    KeyAction("esc.back", "escape", "back", "Back", "Back to the queue", key_display="esc", show=False),
    KeyAction("esc.open", "enter", "open_case", "Open case", "Open the selected case", key_display="enter", rank=1),
    KeyAction("esc.review", "v", "review", "Review", "Record the assessment and checklist",
              roles=offered(Action.REVIEW_ESCALATION), rank=1),
    KeyAction("esc.approve", "a", "approve", "Approve", "Approve: engineer and communication plan",
              roles=offered(Action.DECIDE_ESCALATION), rank=1),
    KeyAction("esc.deny", "d", "deny", "Deny", "Deny, with the reason",
              roles=offered(Action.DECIDE_ESCALATION), rank=1),
    KeyAction("esc.status", "u", "status_update", "Status update", "Send the daily status update",
              roles=offered(Action.STATUS_UPDATE)),
    # (a manager, or the escalation's engineer: engineers are analysts or managers)
    KeyAction("esc.deescalate", "x", "de_escalate", "De-escalate", "De-escalate with the three confirmations",
              roles=WORKERS),
    KeyAction("esc.switch", "tab", "switch_list", "Other list", "Move between requests and approved escalations",
              key_display="tab", rank=1),
    KeyAction("esc.reload", "r", "reload", "Refresh", "Read the escalations again", show=False),
    *moves("esc"),
]

COUNTDOWNS: list[KeyAction] = [
    KeyAction("timers.open", "enter", "open_case", "Open case", "Open the selected case", key_display="enter", rank=1),
    KeyAction("timers.filter", "slash", "filter", "Filter", "Filter by case, title or status", key_display="/", rank=1),
    KeyAction("timers.kind", "f", "cycle_kind", "Kind", "Next timer kind: all, auto-close, reminder, ..."),
    KeyAction("timers.reload", "r", "reload", "Refresh", "Read the timers again", show=False),
    KeyAction("timers.back", "escape", "back", "Back", "Clear the filter, or go back to the queue",
              show=False, key_display="esc"),
    *moves("timers"),
]

SURVEYS: list[KeyAction] = [
    KeyAction("surveys.back", "escape", "back", "Back", "Back to the queue", key_display="esc", show=False),
    KeyAction("surveys.open", "enter", "open_case", "Open case", "Open the case of the selected survey",
              key_display="enter", rank=1),
    KeyAction("surveys.switch", "tab", "switch_list", "Other list", "Move between flagged and recent answers",
              key_display="tab", rank=1),
    KeyAction("surveys.reload", "r", "reload", "Refresh", "Read the surveys again", show=False),
    *moves("surveys"),
]

# The Insight pane: supervisors and managers (who watch the desk and decide escalations).
LEADS = frozenset({Role.SUPERVISOR, Role.MANAGER})
INSIGHT: list[KeyAction] = [
    KeyAction("insight.numbers", "n", "toggle_numbers", "Numbers",
              "Show each chart's numbers as a table, or the charts"),
    KeyAction("insight.reload", "r", "reload", "Refresh", "Read the figures again"),
    KeyAction("insight.back", "escape", "back", "Back", "Back to the queue", key_display="esc", show=False),
]

OUTBOX: list[KeyAction] = [
    KeyAction("outbox.read", "enter", "read_message", "Read",
              "Show the selected message as it will be or was sent: to, subject and body", key_display="enter", rank=1),
    KeyAction("outbox.open", "o", "open_case", "Open case", "Open the case of the selected message"),
    KeyAction("outbox.filter", "slash", "filter", "Filter", "Filter by case, kind, recipient or error",
              key_display="/", rank=1),
    KeyAction("outbox.state", "f", "cycle_state", "State", "Next state: all, queued, failed, sent"),
    KeyAction("outbox.send", "s", "deliver_now", "Send now", "Send the messages that are due now (delivery on)"),
    KeyAction("outbox.next_page", "right_square_bracket", "page(1)", "Older", "Show older messages",
              key_display="]"),
    KeyAction("outbox.prev_page", "left_square_bracket", "page(-1)", "Newer", "Show newer messages",
              key_display="[", rank=3),
    KeyAction("outbox.reload", "r", "reload", "Refresh", "Read the outbox again", show=False),
    KeyAction("outbox.back", "escape", "back", "Back", "Clear the filter, or go back to the queue",
              show=False, key_display="esc"),
    KeyAction("outbox.state.all", None, "set_state('')", "Outbox: all", "Show messages in every state"),
    KeyAction("outbox.state.queued", None, "set_state('queued')", "Outbox: queued",
              "Show messages waiting to be sent"),
    KeyAction("outbox.state.failed", None, "set_state('failed')", "Outbox: failed",
              "Show messages that could not be delivered"),
    KeyAction("outbox.state.sent", None, "set_state('sent')", "Outbox: sent", "Show messages delivered"),
    *moves("outbox"),
]

# Machine mail held with its reason (tui/screens/parked.py): managers and supervisors.
MAIL_LEADS = frozenset({Role.MANAGER, Role.SUPERVISOR})
PARKED: list[KeyAction] = [
    KeyAction("parked.release", "a", "release", "Release",
              "Release the selected message: apply it as ordinary mail (asks first)", roles=MAIL_LEADS, rank=1),
    KeyAction("parked.filter", "slash", "filter", "Filter", "Filter by sender, subject or reason",
              key_display="/", rank=1),
    KeyAction("parked.reload", "r", "reload", "Refresh", "Read the parked mail again", show=False),
    KeyAction("parked.back", "escape", "back", "Back", "Clear the filter, or go back to the queue",
              show=False, key_display="esc"),
    *moves("parked"),
]

# What the footer's right end takes: `▏^p palette ` (Textual's command palette key).
PALETTE_CELLS = 12


def footer_fit(keys: list[tuple[str, int, int, bool]], room: int) -> set[str]:
    """Which footer keys fit in `room` cells: `keys` are (id, cells, rank, enabled) in the
    footer's order; while they do not all fit, the highest rank goes first (a dimmed key before
    an enabled one, the later before the earlier). The ids kept."""
    kept = {key_id for key_id, _, _, _ in keys}
    used = sum(cells for _, cells, _, _ in keys)
    order = sorted(range(len(keys)), key=lambda i: (-keys[i][2], keys[i][3], -i))
    for i in order:
        if used <= room:
            break
        kept.discard(keys[i][0])
        used -= keys[i][1]
    return kept


def footer_cells(key_display: str, label: str) -> int:
    """The cells a footer key takes: ` key label `."""
    from rich.cells import cell_len

    return cell_len(key_display) + cell_len(label) + 3


def rank_of(key_id: str | None) -> int:
    """A key's footer rank by its id (every list of this module and the panes' numbers)."""
    if not _RANKS:
        from deskconsole.tui.panes import GLOBAL, PANES

        for group in (*(p.actions for p in PANES), GLOBAL, FORM, COMPOSER, MESSAGE, CONFIRM, HELP, PICKER,
                      MACRO_PICKER):
            for entry in group:
                _RANKS[entry.id] = entry.rank
    return _RANKS.get(key_id or "", 2)


_RANKS: dict[str, int] = {}


def bindings(actions: list[KeyAction]) -> list[Any]:
    """Textual bindings for the entries that have a key of their own."""
    from textual.binding import Binding  # (this list is read before Textual is imported: the pre-paint)

    return [
        Binding(a.key, a.action, a.label, show=a.show, id=a.id, key_display=a.key_display, tooltip=a.help,
                priority=a.priority)
        for a in actions
        if a.key is not None and not a.builtin
    ]


def by_action(actions: list[KeyAction]) -> dict[str, KeyAction]:
    """Entries by action name (without parameters or namespace)."""
    out: dict[str, KeyAction] = {}
    for a in actions:
        out.setdefault(action_name(a.action), a)
    return out


def action_name(action: str) -> str:
    return action.split("(")[0].split(".")[-1]

FORM: list[KeyAction] = [
    KeyAction("form.submit", "ctrl+s", "submit", "Submit", "Send the form", key_display="ctrl+s"),
    KeyAction("form.cancel", "escape", "cancel", "Cancel", "Close the form without doing anything",
              key_display="esc"),
]

COMPOSER: list[KeyAction] = [
    KeyAction("composer.send", "ctrl+s", "send", "Send",
              "Send the reply to the customer, or add the note (as the mode above the text says)",
              key_display="ctrl+s"),
    KeyAction("composer.mode", "ctrl+t", "switch_mode", "Switch reply/note",
              "Switch between a public reply to the customer and an internal note", key_display="ctrl+t",
              priority=True),
    KeyAction("composer.editor", "ctrl+e", "editor", "Editor",
              "Edit the text in $VISUAL or $EDITOR; the console comes back when the editor exits",
              key_display="ctrl+e", priority=True),
    KeyAction("composer.close", "escape", "close", "Close, keep draft",
              "Close the composer; the draft is kept for this case until it is sent", key_display="esc"),
]

MESSAGE: list[KeyAction] = [
    KeyAction("message.case", "o", "open_case", "Open case", "Open the case this message belongs to"),
    KeyAction("message.close", "escape,q", "close", "Close", "Back to the outbox", key_display="esc"),
]

CONFIRM: list[KeyAction] = [
    KeyAction("confirm.yes", "y", "answer(True)", "Yes", "Answer yes"),
    KeyAction("confirm.no", "n,escape", "answer(False)", "No", "Answer no", key_display="n"),
]

BULK_OUTCOME: list[KeyAction] = [
    KeyAction("bulk.close", "escape,enter,q", "close", "Close", "Close the outcome of the bulk action",
              key_display="esc"),
]

HELP: list[KeyAction] = [
    KeyAction("help.close", "escape,question_mark,q", "close", "Close", "Close the help", key_display="esc"),
]

PICKER: list[KeyAction] = [
    KeyAction("picker.cancel", "escape", "cancel", "Cancel", "Close without linking", key_display="esc"),
    KeyAction("picker.results", "down", "results", "Results",
              "Move to the search results (searching now for what is typed, if not yet)", key_display="↓"),
]

CUSTOMER: list[KeyAction] = [
    KeyAction("customer.close", "escape", "cancel", "Close", "Close the customer's context", key_display="esc"),
]

MACRO_PICKER: list[KeyAction] = [
    KeyAction("macros.cancel", "escape", "cancel", "Cancel", "Close without applying a macro", key_display="esc"),
    KeyAction("macros.down", "down", "cursor_down", "Down", "Highlight the next macro", show=False),
    KeyAction("macros.up", "up", "cursor_up", "Up", "Highlight the previous macro", show=False),
]


def __getattr__(name: str) -> Any:
    """GLOBAL (every pane's number key, then EVERYWHERE) and PANES (each pane's keys) come
    from the pane registry, tui/panes.py."""
    if name == "GLOBAL":
        from deskconsole.tui.panes import GLOBAL

        return GLOBAL
    if name == "PANES":
        from deskconsole.tui.panes import PANES

        return {p.name: list(p.actions) for p in PANES}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
