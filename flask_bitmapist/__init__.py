"""Flask-Bitmapist: bitmap analytics and cohorts for Flask."""
