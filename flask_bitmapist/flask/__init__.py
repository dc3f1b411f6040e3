"""The Flask facade: the extension, its per-app state and config, marking, the 0.1 query
API, the Flask-Login hooks, the SQLAlchemy mixin, the CLI and the dashboard.

Everything here is thin: it reads the app's settings and hands the work to
:mod:`flask_bitmapist.services` and :mod:`flask_bitmapist.domain`.
"""
