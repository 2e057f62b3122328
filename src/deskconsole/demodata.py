"""The demo desk's people, customers and texts, and the weights its cases are drawn with:
shared by the demo (deskconsole.demo) and the bulk writer (deskconsole.bulk).
"""

from __future__ import annotations

# name, role, skills, manager, email
AGENTS: list[tuple[str, str, list[str], str | None]] = [
    ("sofia", "supervisor", [], None),
    ("marcus", "manager", [], None),
    ("helen", "manager", [], None),
    ("alice", "analyst", ["billing", "reporting"], "marcus"),
    ("bruno", "analyst", ["login", "mobile"], "marcus"),
    ("chen", "analyst", ["integrations", "performance"], "marcus"),
    ("dana", "analyst", ["billing", "login"], "helen"),
    ("emeka", "analyst", ["reporting", "integrations"], "helen"),
    ("farah", "analyst", ["mobile", "performance"], "helen"),
]
SUPERVISOR = "sofia"
AWAY_ANALYST = "farah"
ANALYSTS = [a[0] for a in AGENTS if a[1] == "analyst"]
MANAGER_OF = {a[0]: a[3] for a in AGENTS if a[1] == "analyst"}
SKILLS = {a[0]: a[2] for a in AGENTS}

CUSTOMERS = [
    ("Acme Logistics", "ops@acme-logistics.example"),
    ("Globex", "it-support@globex.example"),
    ("Initech", "peter@initech.example"),
    ("Umbrella Health", "helpdesk@umbrella-health.example"),
    ("Stark Retail", "pepper@stark-retail.example"),
    ("Wayne Foods", "alfred@wayne-foods.example"),
    ("Hooli", "gavin@hooli.example"),
    ("Vandelay Imports", "art@vandelay.example"),
    ("Soylent Labs", "lab-admin@soylent.example"),
    ("Tyrell Systems", "eldon@tyrell.example"),
    ("Cyberdyne", "miles@cyberdyne.example"),
    ("Wonka Confectionery", "charlie@wonka.example"),
    ("Oceanic Air", "crew-it@oceanic.example"),
    ("Duff Brewing", "ops@duff.example"),
    ("Gringotts Savings", "griphook@gringotts.example"),
    ("Nakatomi Trading", "it@nakatomi.example"),
    ("Pied Piper", "richard@piedpiper.example"),
    ("Bluth Homes", "michael@bluth.example"),
    ("Monarch Travel", "desk@monarch.example"),
    ("Prestige Worldwide", "brennan@prestige.example"),
]

TITLES = {
    "billing": [
        "Invoice total does not match the order",
        "Charged twice for the monthly subscription",
        "Cannot download the VAT invoice",
        "Credit note missing after a cancelled order",
        "Card payment declined although the bank approved it",
    ],
    "login": [
        "SSO login loops back to the sign-in page",
        "Password reset e-mail never arrives",
        "Two-factor codes rejected after a phone change",
        "New starters cannot activate their accounts",
        "Locked out after the identity provider migration",
    ],
    "reporting": [
        "Monthly revenue report is empty",
        "CSV export stops at 10,000 rows",
        "Dashboard times out for the sales team",
        "Scheduled report arrives with last week's figures",
        "Totals differ between the report and the export",
    ],
    "integrations": [
        "Webhook deliveries failing with 401",
        "CRM sync stopped overnight",
        "API returns 500 on bulk upload",
        "Duplicate orders created by the shop connector",
        "OAuth token refresh fails for the ERP integration",
    ],
    "mobile": [
        "iOS app crashes when opening attachments",
        "Push notifications delayed by hours",
        "Android app logs out every morning",
        "Offline mode loses drafts",
        "Barcode scanner does not start on tablets",
    ],
    "performance": [
        "Search takes 20 seconds since the upgrade",
        "Checkout page slow during peak hours",
        "Nightly batch job runs into business hours",
        "Admin pages time out with many users",
        "Image uploads stall at 99%",
    ],
    "hardware": [
        "Receipt printer prints blank pages",
        "Card terminal shows error E42",
    ],
}
AREAS = [a for a in TITLES if a != "hardware"]

DESCRIPTIONS = [
    "Started this morning for several users. Nothing changed on our side as far as we know.",
    "We first noticed it after Monday's release. Screenshots attached to the original e-mail.",
    "It happens about one time in three. Clearing the cache does not help.",
    "Our finance team is blocked by this; please treat it as urgent.",
    "Steps: sign in, open the page, wait. The spinner never stops.",
    "Only affects our EU tenant; the US tenant is fine.",
]
RESOLUTIONS = {
    "billing": ["Corrected the invoice and issued a credit note.", "Refunded the duplicate charge."],
    "login": ["Re-synced the identity provider metadata; SSO works again.", "Reset the user's second factor."],
    "reporting": ["Rebuilt the report cache; figures are current.", "Raised the export row limit for the tenant."],
    "integrations": [
        "Rotated the webhook secret; deliveries succeed.",
        "Restarted the sync worker after the schema fix.",
    ],
    "mobile": ["Fixed in app version 5.2.1; please update.", "Cleared the stale push token; notifications arrive."],
    "performance": ["Added the missing index; search is back under a second.", "Moved the batch window to 01:00."],
    "hardware": ["Replaced the printer firmware.", "Terminal re-provisioned by the vendor."],
}
REPLIES = [
    "Thanks, here is the log file you asked for.",
    "It happened again just now at 10:42.",
    "We tried that and it did not help.",
    "Attached the HAR file from the browser.",
    "Yes, all our users on the EU tenant are affected.",
]
REOPEN_REPLIES = [
    "Sorry, the problem is back since this morning.",
    "The fix works for most users but not for the warehouse team.",
    "This did not solve it: the numbers are still wrong.",
]
CLOSE_REASONS = [
    "confirmed by phone",
    "duplicate of an earlier case",
    "withdrawn by the customer",
    "no longer reproducible; the customer agreed to close",
]
SURVEY_COMMENTS = {
    1: ["Took far too long and nobody called back.", "Three different people asked me the same questions."],
    2: ["Solved in the end, but the updates were slow.", "Had to chase for every answer."],
    3: ["OK.", "Fine, nothing special."],
    4: ["Good help, thanks.", "Quick and friendly."],
    5: ["Excellent, fixed within the hour!", "Alice was brilliant, thank you."],
}
ARTICLES = [
    (
        "Resetting a user's second factor",
        "Supervisors can reset 2FA from Admin > Users > Security. The user enrols again at next sign-in.",
    ),
    (
        "Why SSO loops back to sign-in",
        "Usually stale identity provider metadata. Re-import the metadata XML and clear cookies.",
    ),
    (
        "Exporting more than 10,000 rows",
        "Large exports run in the background; the link arrives by e-mail when ready.",
    ),
    (
        "Webhook signatures and 401 errors",
        "A 401 means the shared secret changed. Rotate it on both sides and redeliver.",
    ),
    (
        "Duplicate charges on subscriptions",
        "Check the payment log for two captures; refund the second from Billing > Payments.",
    ),
    (
        "Push notification delays on iOS",
        "Expired push tokens delay delivery; signing out and in refreshes the token.",
    ),
    (
        "Speeding up slow search",
        "Reindex the tenant from Admin > Search; large tenants may need an extra index.",
    ),
    (
        "Card terminal error E42",
        "E42 is a certificate problem on the terminal; the vendor re-provisions it remotely.",
    ),
]

# Where a case ends up; random cases draw these with the weights given.
PLAN_WEIGHTS = {
    "new": 8,
    "in_progress": 14,
    "pending:customer_input": 9,
    "pending:development": 5,
    "pending:scheduled_service": 3,
    "pending:third_party": 3,
    "awaiting_confirmation": 9,
    "reopened": 4,
    "update_received": 5,
    "closed:confirmed": 18,
    "closed:analyst": 10,
    "closed:auto_confirm": 8,
    "closed:auto_input": 4,
}
SCORE_WEIGHTS = {5: 38, 4: 30, 3: 14, 2: 10, 1: 8}
