"""0.1's ``flask_bitmapist.extensions`` package: holds :mod:`.flask_login`, kept so that
0.1's imports keep working."""
