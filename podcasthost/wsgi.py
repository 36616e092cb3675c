"""WSGI entry point (gunicorn podcasthost.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "podcasthost.settings")
application = get_wsgi_application()
