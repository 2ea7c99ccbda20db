"""Languages: Simplified Chinese by default, English when the user picks it."""

from zoneinfo import ZoneInfo

from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import get_locale

from carevisits import labels
from carevisits.config import TRANSLATIONS_DIR
from carevisits.extensions import babel
from carevisits.models.base import local_date
from carevisits.problems import is_api_request

__all__ = ["local_date", "local_zone", "register_i18n", "remember_language", "select_locale"]

LOCALES = {"zh_Hans_CN": "中文", "en": "English"}
DEFAULT_LOCALE = "zh_Hans_CN"
LANG_COOKIE = "lang"


def select_locale() -> str:
    """The locale of the language switch's cookie, else Chinese (also on the command line);
    for the integration API, which reads no cookie, the best of ``Accept-Language``."""
    if not has_request_context():
        return DEFAULT_LOCALE
    if is_api_request():
        best = request.accept_languages.best_match(["zh", "en"], default="zh")
        return "en" if best == "en" else DEFAULT_LOCALE
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def remember_language(response: Response, code: str) -> None:
    """Keep the chosen language in a cookie for a year (Secure whenever sessions are)."""
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax",
                        httponly=True, secure=current_app.config["SESSION_COOKIE_SECURE"])


def local_zone() -> ZoneInfo:
    """The time zone dates are shown and entered in."""
    return ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def register_i18n(app: Flask) -> None:
    """Attach Flask-Babel with the catalogues under carevisits/translations."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(TRANSLATIONS_DIR),
    )
    app.jinja_env.globals.update(LOCALES=LOCALES, get_locale=get_locale, **labels.JINJA_GLOBALS)
