"""The demo's names, used by both demo commands, the tests and the docs: its study's slug and its logins."""

DEMO_SLUG = "demo"
DEMO_LOGINS = [("admin", "demo-admin-pass", True), ("reader1", "demo-reader1-pass", False),
               ("reader2", "demo-reader2-pass", False)]

# The demo asks readers to mark what gave a fake away (docs/marks.md).
DEMO_PROTOCOL = {"marks_mode": "fake", "max_marks": 3}
