"""Application services shared by every front end (Python API, CLI, dashboard).

Framework-free: nothing here imports Flask, a storage driver or an ORM. The marking
pipeline, event-file import, demo data, event counts, cohort requests (0.1's
``with_replacement`` as a mode, errors in each front end's field names), reports
(answers as dicts, labels, number formats, and :func:`~.reports.to_csv`, the one CSV
writer), failure accounting, and segments (properties, saved cohorts, resolving a
segment expression).
"""
