"""The study admin's front pages: the New study page and each study's home (set-up checklist, next action, status),
and the study's audit trail. The top layer: it reads from every app and nothing imports it."""
