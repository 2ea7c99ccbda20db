"""carevisits: 爱心敲门 welfare rounds for elders living alone."""

from flask import Flask

from carevisits.admin import bp as admin_bp
from carevisits.alerts import bp as alerts_bp
from carevisits.api import bp as api_bp
from carevisits.auth import bp as auth_bp
from carevisits.cli import commands
from carevisits.config import STATIC_DIR, TEMPLATES_DIR, default_instance_path, load_config
from carevisits.coordinator import bp as coordinator_bp
from carevisits.database import register_database
from carevisits.elders import bp as elders_bp
from carevisits.errors import register_error_handlers
from carevisits.family import bp as family_bp
from carevisits.fragments import register_fragments
from carevisits.i18n import register_i18n
from carevisits.observability import register_observability
from carevisits.paging import register_converters
from carevisits.printing import bp as printing_bp
from carevisits.register import bp as register_bp
from carevisits.requests import bp as requests_bp
from carevisits.round import bp as round_bp
from carevisits.scan import bp as scan_bp
from carevisits.scheduler import register_scheduler
from carevisits.security import register_security
from carevisits.selfcheck import bp as selfcheck_bp
from carevisits.services import schedule
from carevisits.volunteer import bp as volunteer_bp


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, health check and request log, extensions, blueprints,
    error pages, commands, the template globals and the overdue-scan scheduler."""
    app = Flask(
        __name__,
        instance_path=default_instance_path(),
        template_folder=str(TEMPLATES_DIR),
        static_folder=str(STATIC_DIR),
    )
    app.config.from_mapping(load_config(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)

    register_observability(app)
    register_database(app)
    register_security(app)
    register_i18n(app)
    register_converters(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cli(app)
    register_template_globals(app)
    register_fragments(app)
    register_scheduler(app)
    return app


def register_blueprints(app: Flask) -> None:
    """One blueprint per audience; integrations' is the API."""
    for bp in (auth_bp, scan_bp, round_bp, elders_bp, requests_bp, alerts_bp, coordinator_bp,
               printing_bp, register_bp, family_bp, volunteer_bp, admin_bp, selfcheck_bp,
               api_bp):
        app.register_blueprint(bp)


def register_cli(app: Flask) -> None:
    """`flask --app wsgi …` commands: thin wrappers over services."""
    for command in commands:
        app.cli.add_command(command)


def register_template_globals(app: Flask) -> None:
    """Rules every template shares with the views and scans: an elder's schedule state."""
    app.add_template_global(schedule.state, "schedule_state")
    app.add_template_global(schedule.days_until_due, "days_until_due")
