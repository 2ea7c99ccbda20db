"""The door without signal (issue 14 §2): the service worker, served from the site root so
that it controls ``/c/…``, and the one check-in form it keeps — this blueprint's own
template with a placeholder household and elder, filled on the phone from the round pack
(static/door-offline.js). One definition of the form, online and offline."""

from pathlib import Path
from types import SimpleNamespace

from flask import Response, current_app, render_template

from carevisits import labels
from carevisits.models import CareLevel, Frequency
from carevisits.models.base import utcnow
from carevisits.scan.blueprint import bp, visitor_required
from carevisits.scan.forms import ElderRecordForm, VisitForm
from carevisits.services import alerts, followups, requests

# Element ids and names of the placeholder elder ("e0-…") and service (value 0) that the
# phone's script rewrites for each elder and service of the pack.
PLACEHOLDER_ID = 0


@bp.get("/sw.js")
def service_worker():
    """The service worker, from the root so that its scope covers the door URLs."""
    body = (Path(current_app.static_folder) / "sw.js").read_bytes()  # small: read whole
    return Response(body, mimetype="text/javascript",
                    headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"})


@bp.get("/door/offline")
@visitor_required
def offline_form():
    """The check-in form with nobody in it: what the service worker shows at a door URL when
    there is no signal, once the phone has filled it from the round pack."""
    household = SimpleNamespace(full_address="", number="", grid=SimpleNamespace(label=""))
    elder = SimpleNamespace(id=PLACEHOLDER_ID, name="", gender="", birth_year=None,
                            care_level=CareLevel.GENERAL, tags=[])
    item = SimpleNamespace(id=PLACEHOLDER_ID, name="", unit="")
    service = SimpleNamespace(entry=SimpleNamespace(item=item, frequency=Frequency.EVERY_VISIT),
                              due=True)
    form = VisitForm(household=None)
    return render_template(
        "scan/checkin.html", offline=True, household=household, form=form, method="scanned",
        subforms=[(elder, ElderRecordForm(prefix=f"e{PLACEHOLDER_ID}", elder_name=""))],
        services={PLACEHOLDER_ID: [service]}, request_kinds=requests.KINDS,
        # A volunteer's badge and minutes, removed by the script at a staff visit.
        roster=SimpleNamespace(name="", visit_minutes=0),
        readings=True, posted=None, invalid=False, error=None, now=utcnow(), last={},
        presets=followups.PRESETS,
        normal=alerts.normal_ranges(current_app.config.get("ALERT_THRESHOLDS")),
        crisis=alerts.crisis_lines(current_app.config.get("ALERT_THRESHOLDS")),
        care_levels={k: str(v) for k, v in labels.CARE_LEVELS.items()},
        frequencies={k: str(v) for k, v in labels.FREQUENCIES.items()})
