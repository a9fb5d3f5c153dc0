"""WSGI entry point of the peer project (gunicorn wsgi:application, run from bench/peer)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

application = get_wsgi_application()
