"""The reader-study analysis: pure numerical code (MRMC, proportions, agreement, ROC, bootstrap, equivalence, marks).

No Django, no torch, no project package: the web app (``readerstudy.results``) calls it; an import-linter contract in
``pyproject.toml`` keeps it so.
"""
