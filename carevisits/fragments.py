"""Parts of pages that depend only on the language and the user's role (the navigation, the
words the phone's scripts say): rendered once per process for each, then reused.

Every staff page and the door form carry them; rendering them per request (a dozen
``url_for`` calls and thirty translations) was a large share of a door request. They hold
nothing of a user, a household or a session, so a copy per process is always right: no
two processes need to agree on anything."""

from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from carevisits.models.user import STAFF_ROLES

EXTENSION = "carevisits.fragments"


def fixed(name: str) -> Markup:
    """The template ``name`` rendered for this request's language and role (``role`` in it,
    None when not signed in, and ``staff``), from this app's copy after the first time
    (every time while templates reload themselves: ``flask --debug``)."""
    role = current_user.role if current_user.is_authenticated else None
    key = (name, str(get_locale()), role, request.script_root)
    rendered = current_app.extensions[EXTENSION]
    html = rendered.get(key)
    if html is None or current_app.jinja_env.auto_reload:
        template = current_app.jinja_env.get_template(name)
        html = rendered[key] = Markup(template.render(role=role, staff=role in STAFF_ROLES))
    return html


def register_fragments(app: Flask) -> None:
    """``fixed(name)`` in every template, with this app's own copies."""
    app.extensions[EXTENSION] = {}
    app.add_template_global(fixed, "fixed")
