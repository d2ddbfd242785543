"""WSGI entry point for gunicorn: ``gunicorn -w 2 -b 127.0.0.1:8000 wsgi:app``.

Configuration comes from QA_* environment variables (see README); the engine is opened once per
worker process when gunicorn imports this module.
"""

from qa.web import create_app

app = create_app()
