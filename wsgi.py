"""WSGI entry point: `flask --app wsgi …` and `gunicorn wsgi:app`."""

from carevisits import create_app

app = create_app()
