"""LIFECYCLE.md's status table, written out independently of the code under test."""

STATUSES = ["new", "in_progress", "pending", "awaiting_confirmation", "reopened", "update_received", "closed"]
SUB_STATUSES = ["customer_input", "development", "scheduled_service", "third_party"]

# "Transitions / Analyst actions". pending -> pending means another sub-status.
ALLOWED = {
    "new": {"in_progress", "pending", "closed"},
    "in_progress": {"pending", "awaiting_confirmation", "closed"},
    "pending": {"in_progress", "pending", "awaiting_confirmation", "closed"},
    "reopened": {"in_progress", "pending", "awaiting_confirmation", "closed"},
    "update_received": {"in_progress", "pending", "awaiting_confirmation", "closed"},
    "awaiting_confirmation": {"closed"},
    "closed": set(),
}
