"""The door: scanning a card (or typing the household number) and recording a visit."""

from dataclasses import dataclass

from flask import (
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.access import NEXT_KEY
from carevisits.extensions import db
from carevisits.i18n import local_zone
from carevisits.models import Household, Mood, Outcome, Role, Roster, Visit, VisitMethod
from carevisits.models.base import utcnow
from carevisits.responses import wants_json
from carevisits.scan import background, corrections, followup_form, offline
from carevisits.scan.blueprint import VISITORS, bp, visitor_required
from carevisits.scan.forms import (
    EVERYONE,
    ElderRecordForm,
    NumberForm,
    VisitForm,
    VoidForm,
    for_everyone,
    read_request,
)
from carevisits.services import (
    alerts,
    checkin,
    doorcodes,
    followups,
    menus,
    requests,
    rosters,
    rounds,
    visit_times,
)
from carevisits.services.corrections import can_change
from carevisits.services.scope import can_see_visit

__all__ = ["background", "bp", "corrections", "offline"]


@bp.route("/C/<token>", methods=["GET", "POST"])  # the compact cards' address (issue 18)
@bp.route("/c/<token>", methods=["GET", "POST"])  # first: what url_for builds
def door(token: str):
    """A door card's address: the check-in form for staff in scope, a neutral page otherwise.
    ``/C/`` and ``/c/`` are the same door; a base32 token is matched in any case."""
    if not current_user.is_authenticated:
        # The same page, the same bytes, for a valid, revoked or made-up token.
        session[NEXT_KEY] = request.path
        return render_template("scan/neutral.html")
    if sent_again := background.already_recorded(
            lambda visit: visit.door_code is not None
            and visit.door_code.token == doorcodes.normalise_token(token)):
        return sent_again
    # One statement answers "in scope or not", for made-up and real tokens alike: the same
    # work and the same page, so neither the bytes nor the time says whether a card exists.
    code = doorcodes.find_code_for(current_user, token) if current_user.role in VISITORS else None
    if code is None:
        if wants_json():
            return background.refused(background.NOT_IN_SCOPE, 403)
        return render_template("scan/unavailable.html")
    if code.household.closed_at is not None:
        return _closed(code.household)
    if code.revoked_at is not None and not _kept_while_on_the_door(code):
        if wants_json():
            return background.refused(background.CARD_REPLACED, 409)
        return render_template("scan/replaced.html", household=code.household)
    return _check_in(code.household, VisitMethod.SCANNED, door_code=code)


def _kept_while_on_the_door(code) -> bool:
    """A visit kept on the phone without signal, made while this card was still on the door
    (replaced since): it counts, like any visit of that time."""
    if request.method != "POST" or request.form.get("queued") != "1":
        return False
    form = VisitForm(household=code.household)
    at_the_door = visit_times.door_time(utcnow(), form.client_datetime(), form.waited())
    return doorcodes.was_on_the_door(code, at_the_door)


@bp.route("/visit/<number>", methods=["GET", "POST"])
@visitor_required
def by_number(number: str):
    """Check in by the household number when a card is missing or will not scan."""
    typed = doorcodes.normalise_household_number(number)
    if sent_again := background.already_recorded(
            lambda visit: visit.door_code is None and visit.household.number == typed):
        return sent_again
    form = NumberForm(data={"number": number}, meta={"csrf": False})
    household = _household_in_scope(form)
    if household is None:
        if wants_json():
            return background.refused(background.NOT_IN_SCOPE, 403)
        return render_template("scan/number.html", form=form), 404
    if household.closed_at is not None:
        return _closed(household)
    formdata = None
    if request.method == "POST" and f"{EVERYONE}-outcome" in request.form:
        # Sent from a phone that had no round pack for this household (issue 26 §6).
        formdata = for_everyone(request.form, [e.id for e in household.elders if e.active])
    return _check_in(household, VisitMethod.MANUAL, formdata=formdata)


@bp.get("/visit")
@visitor_required
def find_number():
    """The round page's number box: that household's form, or the box again with the number
    as typed and what is wrong with it."""
    form = NumberForm(request.args, meta={"csrf": False})
    if not form.validate():
        return render_template("scan/number.html", form=form), 422
    household = _household_in_scope(form)
    if household is None:
        return render_template("scan/number.html", form=form), 404
    return redirect(url_for("scan.by_number", number=household.number))


@bp.get("/visits/<int:visit_id>")
@visitor_required
def visit(visit_id: int):
    """What a visit recorded, with the way back to the round (a volunteer: their own only)."""
    v = db.session.get(Visit, visit_id)
    if v is None or not can_see_visit(current_user, v):
        abort(404)
    return render_template("scan/visit.html", visit=v, raised=alerts.raised_by_visit(v),
                           ladders=alerts.LADDERS, delivered=menus.delivered_at_visits([v.id]),
                           void_form=VoidForm(), may_change=can_change(current_user, v, utcnow()))


def _household_in_scope(form: NumberForm) -> Household | None:
    """The household with the form's number, if the user may visit it; else the field says
    so (the same words for a number that does not exist and one outside the user's area)."""
    household = doorcodes.household_by_number(current_user, form.number.data or "")
    if household is None:
        form.number.errors = [str(_l("No household with this number was found in your area. "
                                     "Check the number on the card."))]
        return None
    return household


def _closed(household: Household):
    """A closed household takes no visit: say so, record nothing (a form sent anyway: 409)."""
    if wants_json():
        return background.refused(_l("This household is closed: no visit is recorded here."),
                                  409)
    return (render_template("scan/closed.html", household=household),
            409 if request.method == "POST" else 200)


@dataclass
class _Door:
    """What a household's check-in form shows and checks, for the signed-in visitor."""

    roster: Roster | None
    readings: bool
    services: dict
    subforms: list
    followups: dict  # elder id → open follow-ups (staff only)


def _door(household: Household, now, today, given: dict) -> _Door:
    """The household's form for the signed-in visitor; ``given``: the form data's keyword
    for the elders' forms, when it is not the request's own."""
    roster = None
    if current_user.role == Role.VOLUNTEER:
        roster = rosters.roster_for_visit(current_user, household, today)
    elders = [e for e in household.elders if e.active]
    readings = roster is None or roster.allow_observations
    services = menus.due_services_of(elders, now, today, readings=lambda _elder: readings)
    subforms = [(e, ElderRecordForm(prefix=f"e{e.id}", elder_name=e.name, offered={
        d.entry.item_id: d.entry.item.name for d in services[e.id]}, **given))
        for e in elders]
    return _Door(roster, readings, services, subforms,
                 followups.open_for_elders(current_user, elders))


def _check_in(household: Household, method: VisitMethod, door_code=None, formdata=None):
    """Show the form, or record the visit it sends and show the result (in JSON to the
    page's script, which keeps the visit on the phone when this cannot be reached).
    ``formdata``: what was sent, when not the request's own form as it came."""
    given = {} if formdata is None else {"formdata": formdata}
    sent = request.form if formdata is None else formdata
    form = VisitForm(manual=method == VisitMethod.MANUAL, household=household, **given)
    now = utcnow()
    today = now.astimezone(local_zone()).date()
    door = _door(household, now, today, given)

    def page(status=200, error=None):
        if request.method == "POST" and wants_json():
            return background.refused(error or background.form_errors(
                form, door.subforms), status)
        return render_template(
            "scan/checkin.html", household=household, form=form, subforms=door.subforms,
            method=method, error=error, services=door.services, request_kinds=requests.KINDS,
            roster=door.roster, readings=door.readings, now=now, followups=door.followups,
            presets=followups.PRESETS, today=today,
            last=rounds.last_records([e for e, _ in door.subforms]),
            normal=alerts.normal_ranges(current_app.config.get("ALERT_THRESHOLDS")),
            crisis=alerts.crisis_lines(current_app.config.get("ALERT_THRESHOLDS")),
            posted=sent if request.method == "POST" else None,
            invalid=status == 422 and error is None), status

    if request.method == "GET":
        form.idempotency_key.data = checkin.new_idempotency_key()
        return page()
    needs, problems = _needs(door, sent)
    todo, todo_problems = _followups(door, today, sent)
    problems += todo_problems
    if not (form.validate() & all([sub.validate() for _, sub in door.subforms])):
        return page(422)
    if problems:
        return page(422, error="；".join(problems))
    try:
        visit, created = checkin.record_visit(
            visitor=current_user, household=household, method=method, door_code=door_code,
            manual_reason=form.reason.data or "", idempotency_key=form.idempotency_key.data,
            client_time=form.client_datetime(), visited_at=form.visited_datetime(),
            records=[_record_input(e, sub, needs[e.id]) for e, sub in door.subforms],
            roster=door.roster, duration_minutes=form.minutes.data,
            queued=form.queued.data == "1", waited=form.waited())
    except checkin.CheckInError as err:
        db.session.rollback()
        return page(422, error=str(err))
    if created:  # a form sent again adds and ticks nothing twice
        followups.at_visit(visit, actor=current_user, now=now, today=today,
                           added={i: f.added for i, f in todo.items() if f.added},
                           done={i: f.done for i, f in todo.items()})
    # The answer is made before the commit: after it, the visit's attributes would be read
    # again (in a second transaction) only to say what is already known.
    url = url_for("scan.visit", visit_id=visit.id)
    answer = background.recorded(visit, url, created) if wants_json() else redirect(url)
    db.session.commit()
    return answer


def _needs(door: _Door, sent) -> tuple[dict, list[str]]:
    """The request raised for each elder (or None), and every problem with them, named."""
    needs, problems = {}, []
    for elder, _sub in door.subforms:
        needs[elder.id], request_errors = read_request(sent, elder.id)
        problems += [f"{elder.name}：{e}" for e in request_errors]
    return needs, problems


def _followups(door: _Door, today, sent) -> tuple[dict, list[str]]:
    """Each elder's follow-ups as the form sends them (staff only), and every problem."""
    if not current_user.is_staff:
        return {}, []
    todo = {e.id: followup_form.read(sent, e.id, today) for e, _sub in door.subforms}
    return todo, [f"{e.name}：{m}" for e, _sub in door.subforms for m in todo[e.id].errors]


def _record_input(elder, sub: ElderRecordForm, need) -> checkin.ElderRecordInput:
    return checkin.ElderRecordInput(deliveries=sub.svc.data, request=need,
        elder_id=elder.id, outcome=Outcome(sub.outcome.data),
        systolic=sub.systolic.data, diastolic=sub.diastolic.data, pulse=sub.pulse.data,
        mood=Mood(sub.mood.data) if sub.mood.data else None, notes=sub.notes.data or "",
    )
