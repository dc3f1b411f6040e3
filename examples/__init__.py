"""Example apps for Flask-Bitmapist (``make demo`` runs :mod:`examples.demo_app`)."""
