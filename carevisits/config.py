"""Configuration: where the app's folders are (in a checkout or an installed wheel), and safe
defaults overridden by CAREVISITS_* environment variables."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

ENV_PREFIX = "CAREVISITS_"
PACKAGE_DIR = Path(__file__).resolve().parent
# The repository around the package when it runs from a checkout (`make run`, an editable
# install); an installed wheel has no repository, only site-packages.
PROJECT_ROOT = PACKAGE_DIR.parent


def resource_root() -> Path:
    """The folder holding templates/, static/, printables/ and migrations/.

    A built wheel carries them inside the package (hatch_build.py puts them there); in a
    checkout they sit at the top of the repository, beside carevisits/.
    """
    return PACKAGE_DIR if (PACKAGE_DIR / "templates").is_dir() else PROJECT_ROOT


RESOURCE_ROOT = resource_root()
IN_CHECKOUT = RESOURCE_ROOT == PROJECT_ROOT
TEMPLATES_DIR = RESOURCE_ROOT / "templates"
STATIC_DIR = RESOURCE_ROOT / "static"
PRINTABLES_DIR = RESOURCE_ROOT / "printables"
MIGRATIONS_DIR = RESOURCE_ROOT / "migrations"
TRANSLATIONS_DIR = PACKAGE_DIR / "translations"


def default_instance_path() -> str | None:
    """Where the SQLite database and the development secret key live by default.

    CAREVISITS_INSTANCE_PATH, else instance/ of the checkout, else (installed) None: Flask's
    own default for an installed package, ``<prefix>/var/carevisits-instance``.
    """
    checkout = str(PROJECT_ROOT / "instance") if IN_CHECKOUT else None
    return os.environ.get(ENV_PREFIX + "INSTANCE_PATH") or checkout


def _instance_secret_key(instance_path: str) -> str:
    """Return the development secret key kept under instance/, creating it once."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def load_config(instance_path: str) -> dict:
    """Build the settings for one app: defaults first, then the environment."""
    env = {k[len(ENV_PREFIX):]: v for k, v in os.environ.items() if k.startswith(ENV_PREFIX)}
    sqlite_path = Path(instance_path) / "carevisits.sqlite3"
    config = {
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", f"sqlite:///{sqlite_path}"),
        "SECRET_KEY": env.get("SECRET_KEY") or _instance_secret_key(instance_path),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Door cards' QR codes carry the compact upper-case address (doorcodes.card_url);
        # 0 prints the lower-case /c/ address of cards before issue 18.
        "QR_COMPACT": env.get("QR_COMPACT", "1") != "0",
        # Cookies: HttpOnly is Flask's default; Lax keeps the session off cross-site POSTs.
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SECURE_COOKIES", "0") == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
        # A check-in filled in offline may be sent hours later: the token lives as long
        # as the session (which sign-out ends) instead of Flask-WTF's one hour.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_I18N_ENABLED": True,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Shanghai"),
        # Throttling (carevisits/throttle.py): memory:// counts per process, so several
        # gunicorn workers need Redis (gunicorn.conf.py refuses to start them otherwise).
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Proxies in front of the app (nginx: 1) whose X-Forwarded-For/-Proto are trusted, so
        # that per-address limits count each user's address, not the proxy's.
        "PROXY_HOPS": int(env.get("PROXY_HOPS", "0")),
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": env.get("RATELIMIT_KEY_PREFIX", "carevisits")},
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": False,
        # Failed sign-ins from browsers without the account's device cookie …
        "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS": env.get(
            "LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS", "5 per 15 minutes"),
        "LOGIN_FAILURES_PER_ACCOUNT": env.get("LOGIN_FAILURES_PER_ACCOUNT", "20 per 15 minutes"),
        "LOGIN_FAILURES_PER_ADDRESS": env.get("LOGIN_FAILURES_PER_ADDRESS", "100 per 15 minutes"),
        # … and from a browser that has signed in to the account before (its own count).
        "LOGIN_FAILURES_PER_DEVICE": env.get("LOGIN_FAILURES_PER_DEVICE", "10 per 15 minutes"),
        "TRUSTED_DEVICE_DAYS": int(env.get("TRUSTED_DEVICE_DAYS", "180")),
        "INVITE_CODE_FAILURES_PER_ACCOUNT": env.get("INVITE_CODE_FAILURES_PER_ACCOUNT",
                                                    "10 per hour"),
        "INVITE_CODE_FAILURES_PER_ADDRESS": env.get("INVITE_CODE_FAILURES_PER_ADDRESS",
                                                    "30 per hour"),
        "SIGNUPS_PER_ADDRESS": env.get("SIGNUPS_PER_ADDRESS", "10 per hour"),
        # Presses of 我很好 per address: high, as many phones share a mobile carrier's address.
        "SELF_CHECKINS_PER_ADDRESS": env.get("SELF_CHECKINS_PER_ADDRESS", "30 per minute"),
        # Minutes past an elder's check-in hour before the missed check-in alert: a 我很好
        # pressed without signal and kept on the phone has this long to arrive (0–59).
        "SELF_CHECKIN_GRACE_MINUTES": int(env.get("SELF_CHECKIN_GRACE_MINUTES", "30")),
        # Requests of one integration API key (carevisits/api/): answered 429 beyond it.
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "600 per minute"),
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "30000")),
        "HOTLINE": env.get("HOTLINE", "12345"),
        "PAGE_SIZE": 20,
        # The app's clock (see models.base.utcnow): None is the system clock; tests and
        # drills set a callable that returns the instant they want.
        "CLOCK": None,
        # Overdue scans every SCAN_MINUTES in web processes (carevisits/scheduler.py); unset:
        # on under `flask run` and gunicorn, off for other commands; 0 turns it off (cron only).
        "SCHEDULER": {"1": True, "0": False}.get(env.get("SCHEDULER", "")),
        "SCAN_MINUTES": float(env.get("SCAN_MINUTES", "5")),
        # One JSON line per request on stderr (carevisits/observability.py); unset: on under
        # gunicorn, off for `flask run` (it prints its own lines), commands and tests.
        "REQUEST_LOG": {"1": True, "0": False}.get(env.get("REQUEST_LOG", "")),
        # Readings that open an abnormal-observation alert; at or above either crisis line
        # (a hypertensive crisis, ≥180/≥110: docs/DECISIONS.md) the alert is urgent and the
        # door shows what to ask and when to call 120.
        "ALERT_THRESHOLDS": {
            "systolic_high": int(env.get("ALERT_SYSTOLIC_HIGH", "160")),
            "systolic_low": int(env.get("ALERT_SYSTOLIC_LOW", "90")),
            "diastolic_high": int(env.get("ALERT_DIASTOLIC_HIGH", "100")),
            "systolic_crisis": int(env.get("ALERT_SYSTOLIC_CRISIS", "180")),
            "diastolic_crisis": int(env.get("ALERT_DIASTOLIC_CRISIS", "110")),
            "pulse_low": int(env.get("ALERT_PULSE_LOW", "50")),
            "pulse_high": int(env.get("ALERT_PULSE_HIGH", "120")),
        },
        # Mail for alert notifications (communities choose their addresses).
        "SMTP_HOST": env.get("SMTP_HOST", "localhost"),
        "SMTP_PORT": int(env.get("SMTP_PORT", "25")),
        "SMTP_FROM": env.get("SMTP_FROM", "carevisits@localhost"),
        "SMTP_USER": env.get("SMTP_USER", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": env.get("SMTP_STARTTLS", "0") == "1",
        # Webhooks (services/webhooks.py): https only unless this is on; coordinators may
        # only use these robot hosts (企业微信, 钉钉), admins any public host. Tests alone may
        # set WEBHOOK_TEST_LOOPBACK (never read from the environment) to post to 127.0.0.1.
        "WEBHOOK_ALLOW_HTTP": env.get("WEBHOOK_ALLOW_HTTP", "0") == "1",
        "WEBHOOK_HOSTS": [h.strip().lower() for h in env.get(
            "WEBHOOK_HOSTS", "qyapi.weixin.qq.com,oapi.dingtalk.com").split(",") if h.strip()],
    }
    return config
