"""Application services shared by every front end (Python API, CLI, dashboard).

Framework-free: nothing here imports Flask, a storage driver or an ORM. The marking
pipeline, event-file import, demo data, reports (answers as dicts and CSV rows, labels
and number formats) and failure accounting.
"""
