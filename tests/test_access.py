"""The access matrix: every route × every role × their own and someone else's records.

A route added to the app without a row here fails ``test_every_route_is_listed``.
"""

from datetime import date, time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from carevisits.extensions import db, limiter
from carevisits.models import (
    AlertKind,
    AlertLevel,
    ApiPermission,
    ChannelKind,
    DeliveryStatus,
    Device,
    DeviceKind,
    FamilyLink,
    Frequency,
    GridAssignment,
    JobStatus,
    MemberStatus,
    Notification,
    NotificationChannel,
    Outcome,
    RequestClass,
    RequestSource,
    Role,
    Roster,
    RosterMember,
    ServiceItem,
    ServicePlace,
    VisitMethod,
    VolunteerProfile,
    VolunteerStatus,
)
from carevisits.models.base import local_today, utcnow
from carevisits.services import alerts, apikeys, followups, menus, printjobs, requests, selfcheck
from carevisits.services.checkin import ElderRecordInput, record_visit
from tests import factories
from tests.conftest import build_world, login

ROLES = ["anonymous", "admin", "coordinator", "community_coordinator", "worker", "other_worker",
         "volunteer", "family"]
# The household each role may see ("own") and one it may not ("other").
TARGETS = {
    "anonymous": ("h1", "h4"),
    "admin": ("h1", "h4"),  # admins see everything: both are theirs
    "coordinator": ("h3", "h4"),  # whole street one; h4 is in street two
    "community_coordinator": ("h1", "h3"),  # community 甲; h3 is in 乙
    "worker": ("h1", "h2"),  # grid 一; h2 is the neighbouring grid
    "other_worker": ("h2", "h1"),
    "volunteer": ("h1", "h4"),
    "family": ("h1", "h4"),
}
STAFF = {"admin", "coordinator", "community_coordinator", "worker", "other_worker"}
VISITORS = STAFF | {"volunteer"}

# Outcomes: "page" 200 showing the household's elder, "neutral" 200 without it,
# "login" a redirect to sign-in, "redirect" any other redirect, 403, 404.


def staff_scoped(own_ok="page"):
    """Staff see their own records and get 404 for others'; everyone else is kept out."""
    def expect(role, which):
        if role == "anonymous":
            return "login"
        if role not in STAFF:
            return 403
        if role == "admin" or which == "own":
            return own_ok
        return 404
    return expect


def door(role, which):
    """Staff in scope and volunteers on a roster of the door get the form; others a page
    that names nobody."""
    if role == "anonymous":
        return "neutral"
    if role in VISITORS and (role == "admin" or which == "own"):
        return "page"
    return "neutral"


def visitor_scoped(own_ok="page"):
    """Staff and volunteers record visits to the households they may see (volunteers: their
    roster's); everyone else is kept out."""
    def expect(role, which):
        if role == "anonymous":
            return "login"
        if role not in VISITORS:
            return 403
        return own_ok if role == "admin" or which == "own" else 404
    return expect


def round_pack(role, which):
    """The phone's round pack: every visitor's own scope only (checked by name); never the
    anonymous or family roles."""
    if role == "anonymous":
        return "login"
    return "round" if role in VISITORS else 403


def session_token(role, which):
    """The phone queue's fresh CSRF token: visitors only; anonymous is told to sign in."""
    if role == "anonymous":
        return 401
    return 200 if role in VISITORS else 403


def visit_page(role, which):
    """A recorded visit: staff in scope; a volunteer only their own (these are the admin's)."""
    if role == "volunteer":
        return 404
    return visitor_scoped()(role, which)


def visit_change(own_ok):
    """Correcting or voiding a visit (these are the admin's): coordinators and admins in
    their area; a worker who may see it but did not make it is refused; volunteers see only
    their own visits."""
    def expect(role, which):
        if role == "volunteer":
            return 404
        outcome = visitor_scoped(own_ok)(role, which)
        return 403 if outcome == own_ok and role in ("worker", "other_worker") else outcome
    return expect


def volunteer_roster(own_ok):
    """A volunteer's roster pages: the rosters of their own community only."""
    def expect(role, which):
        if role == "anonymous":
            return "login"
        if role != "volunteer":
            return 403
        return own_ok if which == "own" else 404
    return expect


def anonymous_only(role, which):
    """Sign-up forms: for people without an account; a signed-in user is sent home."""
    return 200 if role == "anonymous" else "redirect"


def everyone(outcome):
    return lambda role, which: outcome


def signed_in(outcome):
    return lambda role, which: "login" if role == "anonymous" else outcome


def only(roles, outcome):
    def expect(role, which):
        if role == "anonymous":
            return "login"
        return outcome if role in roles else 403
    return expect


COORDINATORS = {"admin", "coordinator", "community_coordinator"}


def print_scoped(role, which, ok=200):
    """Printing is for coordinators and admins, within their area."""
    if role == "anonymous":
        return "login"
    if role not in COORDINATORS:
        return 403
    return ok if role == "admin" or which == "own" else 404


def family_only(own_ok="page"):
    """Family pages: a family member's linked elder only; nobody else's, nobody else."""
    def expect(role, which):
        if role == "anonymous":
            return "login"
        if role != "family":
            return 403
        return own_ok if which == "own" else 404
    return expect


def export_scoped(role, which):
    """Exports are for coordinators; the rows are only their area's (checked by name)."""
    if role == "anonymous":
        return "login"
    return "round" if role in COORDINATORS else 403


def audit_scoped(role, which):
    """The audit log: coordinators and admins; a record outside the area has no event there."""
    if role == "anonymous":
        return "login"
    if role not in COORDINATORS:
        return 403
    return "page" if role == "admin" or which == "own" else "neutral"


def street_policy(role, which):
    """Only street coordinators and admins set a street's visit policy."""
    if role == "community_coordinator":
        return 404
    return print_scoped(role, which, ok=422)  # an empty form is refused, in scope only


def new_community(role, which):
    """Communities are added to a street by admins and that street's coordinators only."""
    if role == "community_coordinator":
        return 404
    return print_scoped(role, which, ok=422)  # an empty form is refused, in scope only


def street_service(role, which):
    """A street's own service is changed by admins and that street's coordinators; another
    street's is not found; a community's coordinator sees their street's but changes none."""
    if role == "community_coordinator":
        return 403
    return print_scoped(role, which, ok="redirect")


ROUTES = {
    # endpoint: (method, url(w, household), expectation(role, own|other))
    "auth.login": ("GET", lambda w, h: "/login", everyone(200)),
    "auth.logout": ("POST", lambda w, h: "/logout", signed_in("login")),
    "auth.account": ("GET", lambda w, h: "/account", signed_in(200)),
    "auth.sign_out_everywhere": ("POST", lambda w, h: "/account/sign-out-everywhere",
                                 signed_in("login")),
    "auth.index": ("GET", lambda w, h: "/", signed_in("redirect")),
    "auth.set_language": ("GET", lambda w, h: "/lang/en", everyone("redirect")),
    "healthz": ("GET", lambda w, h: "/healthz", everyone(200)),  # load balancers: no session
    "scan.door": ("GET", lambda w, h: f"/c/{h.code.token}", door),
    "scan.by_number": ("GET", lambda w, h: f"/visit/{h.number}", visitor_scoped()),
    "scan.find_number": ("GET", lambda w, h: f"/visit?number={h.number}",
                         visitor_scoped("redirect")),
    "round.pack": ("GET", lambda w, h: "/round/pack.json", round_pack),
    "scan.service_worker": ("GET", lambda w, h: "/sw.js", everyone(200)),
    "scan.offline_form": ("GET", lambda w, h: "/door/offline", only(VISITORS, 200)),
    "scan.session_token": ("GET", lambda w, h: "/door/session.json", session_token),
    "scan.visit": ("GET", lambda w, h: f"/visits/{w.visits[h.id]}", visit_page),
    "scan.correct": ("GET", lambda w, h: f"/visits/{w.visits[h.id]}/correct",
                     visit_change("page")),
    "scan.void": ("POST", lambda w, h: f"/visits/{w.visits[h.id]}/void",
                  visit_change(422)),  # no reason: refused, but only for those allowed
    "elders.phone": ("GET", lambda w, h: f"/elders/{h.elders[0].id}/phone", staff_scoped()),
    "round.index": ("GET", lambda w, h: "/round/", only(STAFF, "round")),
    # A follow-up is ticked off by staff who may see its elder; volunteers and family never.
    "round.followup_done": ("POST", lambda w, h: f"/round/followups/{w.followups[h.id]}/done",
                            staff_scoped("redirect")),
    "auth.favicon": ("GET", lambda w, h: "/favicon.ico", everyone(200)),
    "elders.index": ("GET", lambda w, h: "/elders/", only(STAFF, "round")),
    "elders.detail": ("GET", lambda w, h: f"/elders/{h.elders[0].id}", staff_scoped()),
    "printing.index": ("GET", lambda w, h: "/printing/", only(COORDINATORS, 200)),
    "printing.grid": ("GET", lambda w, h: f"/printing/grids/{h.grid_id}", print_scoped),
    "printing.job": ("GET", lambda w, h: f"/printing/jobs/{w.jobs[h.id]}", print_scoped),
    "printing.download": ("GET", lambda w, h: f"/printing/jobs/{w.jobs[h.id]}/cards.pdf",
                          print_scoped),
    "printing.retry": ("POST", lambda w, h: f"/printing/jobs/{w.jobs[h.id]}/retry",
                       lambda role, which: print_scoped(role, which, ok="redirect")),
    "alerts.board": ("GET", lambda w, h: "/alerts/", only(STAFF, "round")),
    "alerts.detail": ("GET", lambda w, h: f"/alerts/{w.alerts[h.id]}", staff_scoped()),
    "alerts.acknowledge": ("POST", lambda w, h: f"/alerts/{w.alerts[h.id]}/acknowledge",
                           staff_scoped("redirect")),
    "alerts.acknowledge_many": ("POST", lambda w, h: "/alerts/acknowledge",
                                only(STAFF, "redirect")),  # nothing ticked: back to the board
    "alerts.step": ("POST", lambda w, h: f"/alerts/{w.alerts[h.id]}/step",
                    staff_scoped("redirect")),
    "alerts.resolve": ("POST", lambda w, h: f"/alerts/{w.alerts[h.id]}/resolve",
                       staff_scoped(422)),  # no note: refused, but only for those in scope
    "alerts.settings": ("GET", lambda w, h: "/alerts/settings", only(COORDINATORS, 200)),
    "alerts.save_policy": ("POST", lambda w, h: f"/alerts/settings/policy/{w.street_of[h.id]}",
                           street_policy),
    "alerts.add_channel": ("POST", lambda w, h: "/alerts/settings/channels",
                           only(COORDINATORS, 422)),
    "alerts.remove_channel": ("POST", lambda w, h: f"/alerts/settings/channels/"
                              f"{w.channels[h.id]}/remove",
                              lambda role, which: print_scoped(role, which, ok="redirect")),
    "alerts.retry_notification": ("POST", lambda w, h: f"/alerts/notifications/"
                                  f"{w.notifications[h.id]}/retry",
                                  lambda role, which: print_scoped(role, which, ok="redirect")),
    "elders.pause": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/pause", staff_scoped(422)),
    "elders.resume": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/resume",
                      staff_scoped("redirect")),
    "elders.interval": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/interval",
                        lambda role, which: print_scoped(role, which, ok="redirect")),
    "requests.index": ("GET", lambda w, h: "/requests/", only(STAFF, "round")),
    "requests.detail": ("GET", lambda w, h: f"/requests/{w.requests[h.id]}", staff_scoped()),
    "requests.reclass": ("POST", lambda w, h: f"/requests/{w.requests[h.id]}/class",
                         staff_scoped(422)),  # no class chosen: refused, in scope only
    "requests.raise_for_elder": ("POST", lambda w, h: f"/requests/elders/{h.elders[0].id}",
                                 staff_scoped("redirect")),
    "elders.add_service": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/menu",
                           staff_scoped(422)),
    "elders.end_service": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/menu/"
                           f"{w.menu[h.id]}/end", staff_scoped("redirect")),
    "coordinator.services": ("GET", lambda w, h: "/coordinator/services",
                             only(COORDINATORS, 200)),
    "coordinator.retire": ("POST", lambda w, h: "/coordinator/services/"
                           f"{w.street_items[w.street_of[h.id]]}/retire", street_service),
    "coordinator.summary": ("GET", lambda w, h: "/coordinator/summary", only(COORDINATORS, 200)),
    # The audit log of a record: its events for coordinators in its area and admins; another
    # area's record shows no event (its name, number and phone nowhere on the page).
    "coordinator.audit_page": ("GET", lambda w, h: "/coordinator/audit?what=elder&record="
                               f"{h.elders[0].id}", audit_scoped),
    "coordinator.audit_download": ("GET", lambda w, h: "/coordinator/audit.xlsx?what=elder"
                                   f"&record={h.elders[0].id}", only(COORDINATORS, 200)),
    "coordinator.export": ("GET", lambda w, h: "/coordinator/exports/requests.csv",
                           export_scoped),
    "family.index": ("GET", lambda w, h: "/family/", only({"family"}, 200)),
    "family.elder": ("GET", lambda w, h: f"/family/elders/{h.elders[0].id}", family_only()),
    "family.raise_request": ("POST", lambda w, h: f"/family/elders/{h.elders[0].id}/requests",
                             family_only(422)),  # nothing described: refused at the field
    "elders.invite": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/invites",
                      staff_scoped(422)),
    "elders.revoke_family": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/family/"
                             f"{w.links[h.id]}/revoke", staff_scoped("redirect")),
    "family.export_visits": ("GET", lambda w, h: f"/family/elders/{h.elders[0].id}/visits.csv",
                             family_only(200)),
    "family.send_message": ("POST", lambda w, h: f"/family/elders/{h.elders[0].id}/messages",
                            family_only("redirect")),
    "family.signup": ("GET", lambda w, h: "/family/signup", anonymous_only),
    "volunteer.signup": ("GET", lambda w, h: "/volunteer/signup", anonymous_only),
    "volunteer.index": ("GET", lambda w, h: "/volunteer/", only({"volunteer"}, "round")),
    "volunteer.rosters": ("GET", lambda w, h: "/volunteer/rosters", only({"volunteer"}, 200)),
    "volunteer.roster": ("GET", lambda w, h: f"/volunteer/rosters/{w.rosters[h.id]}",
                         volunteer_roster("page")),
    "volunteer.apply": ("POST", lambda w, h: f"/volunteer/rosters/{w.rosters[h.id]}/apply",
                        volunteer_roster("redirect")),
    "volunteer.leave": ("POST", lambda w, h: f"/volunteer/rosters/{w.rosters[h.id]}/leave",
                        volunteer_roster("redirect")),
    "volunteer.profile": ("GET", lambda w, h: "/volunteer/profile", only({"volunteer"}, 200)),
    "volunteer.hours": ("GET", lambda w, h: "/volunteer/hours", only({"volunteer"}, 200)),
    "coordinator.volunteers_page": ("GET", lambda w, h: "/coordinator/volunteers",
                                    only(COORDINATORS, 200)),
    "coordinator.review_volunteer": ("POST", lambda w, h: f"/coordinator/volunteers/"
                                     f"{w.signups[h.id]}/review",
                                     lambda role, which: print_scoped(role, which, ok=400)),
    "coordinator.new_roster": ("GET", lambda w, h: "/coordinator/rosters/new",
                               only(COORDINATORS, 200)),
    "coordinator.roster": ("GET", lambda w, h: f"/coordinator/rosters/{w.rosters[h.id]}",
                           print_scoped),
    "coordinator.decide_member": ("POST", lambda w, h: f"/coordinator/rosters/"
                                  f"{w.rosters[h.id]}/members/{w.members[h.id]}",
                                  lambda role, which: print_scoped(role, which, ok=400)),
    "coordinator.volunteer_hours": ("GET", lambda w, h: "/coordinator/volunteer-hours",
                                    only(COORDINATORS, 200)),
    "coordinator.dashboard_page": ("GET", lambda w, h: "/coordinator/",
                                   only(COORDINATORS, 200)),
    "coordinator.worker": ("GET", lambda w, h: f"/coordinator/workers/{w.grid_workers[h.id]}",
                           print_scoped),  # the worker of the household's grid
    "coordinator.report": ("GET", lambda w, h: "/coordinator/report.xlsx",
                           only(COORDINATORS, 200)),
    "register.areas_page": ("GET", lambda w, h: "/register/", only(COORDINATORS, 200)),
    "register.add_street": ("POST", lambda w, h: "/register/streets", only({"admin"}, 422)),
    "register.add_community": ("POST", lambda w, h: f"/register/streets/{w.street_of[h.id]}/"
                               "communities", new_community),
    "register.edit_community": ("POST", lambda w, h: "/register/communities/"
                                f"{h.grid.community_id}",
                                lambda role, which: print_scoped(role, which, ok=422)),
    "register.add_grid": ("POST", lambda w, h: f"/register/communities/{h.grid.community_id}/"
                          "grids", lambda role, which: print_scoped(role, which, ok=422)),
    "register.grid_page": ("GET", lambda w, h: f"/register/grids/{h.grid_id}", print_scoped),
    "register.rename_grid": ("POST", lambda w, h: f"/register/grids/{h.grid_id}",
                             lambda role, which: print_scoped(role, which, ok=422)),
    "register.reassign": ("POST", lambda w, h: f"/register/grids/{h.grid_id}/worker",
                          lambda role, which: print_scoped(role, which, ok=422)),
    "register.add_cover": ("POST", lambda w, h: f"/register/grids/{h.grid_id}/covers",
                           lambda role, which: print_scoped(role, which, ok=422)),
    "register.end_assignment": ("POST", lambda w, h: "/register/assignments/"
                                f"{w.covers[h.id]}/end",
                                lambda role, which: print_scoped(role, which, ok="redirect")),
    # Households and elders of the register: staff read a household, coordinators edit.
    "register.new_household": ("GET", lambda w, h: "/register/households/new",
                               only(COORDINATORS, 200)),
    "register.household": ("GET", lambda w, h: f"/register/households/{h.id}", staff_scoped()),
    "register.edit_household": ("GET", lambda w, h: f"/register/households/{h.id}/edit",
                                print_scoped),
    "register.move_household": ("POST", lambda w, h: f"/register/households/{h.id}/move",
                                lambda role, which: print_scoped(role, which, ok=422)),
    "register.close_household": ("POST", lambda w, h: f"/register/households/{h.id}/close",
                                 lambda role, which: print_scoped(role, which, ok=422)),
    "register.new_elder": ("GET", lambda w, h: f"/register/households/{h.id}/elders/new",
                           print_scoped),
    # A household's devices and threshold: kept by coordinators within their area.
    "register.add_device": ("POST", lambda w, h: f"/register/households/{h.id}/devices",
                            lambda role, which: print_scoped(role, which, ok=422)),
    "register.remove_device": ("POST", lambda w, h: f"/register/households/{h.id}/devices/"
                               f"{w.devices[h.id]}/remove",
                               lambda role, which: print_scoped(role, which, ok="redirect")),
    "register.set_silence": ("POST", lambda w, h: f"/register/households/{h.id}/silence",
                             lambda role, which: print_scoped(role, which, ok="redirect")),
    "register.edit_elder": ("GET", lambda w, h: f"/register/elders/{h.elders[0].id}/edit",
                            print_scoped),
    "register.move_elder": ("POST", lambda w, h: f"/register/elders/{h.elders[0].id}/move",
                            lambda role, which: print_scoped(role, which, ok=422)),
    "register.close_elder": ("GET", lambda w, h: f"/register/elders/{h.elders[0].id}/close",
                             print_scoped),
    "register.reopen_elder": ("POST", lambda w, h: f"/register/elders/{h.elders[0].id}/reopen",
                              lambda role, which: print_scoped(role, which, ok="redirect")),
    "register.import_page": ("GET", lambda w, h: "/register/import", only(COORDINATORS, 200)),
    "register.apply_import": ("POST", lambda w, h: "/register/import/apply",
                              only(COORDINATORS, 400)),  # no previewed upload named
    "register.import_errors": ("GET", lambda w, h: f"/register/import/errors/{'0' * 64}",
                               only(COORDINATORS, 404)),  # nobody's upload
    "register.import_preview": ("GET", lambda w, h: f"/register/import/{'0' * 64}",
                                only(COORDINATORS, 404)),
    "register.import_mapping": ("POST", lambda w, h: f"/register/import/{'0' * 64}/mapping",
                                only(COORDINATORS, 404)),
    "register.template": ("GET", lambda w, h: "/register/template.xlsx",
                          only(COORDINATORS, 200)),
    "register.export": ("GET", lambda w, h: "/register/export.csv", export_scoped),
    # The elder's own daily check-in: the link is the credential, whoever holds it; its
    # staff side is for staff with the elder in scope, as pauses and invites are.
    "selfcheck.page": ("GET", lambda w, h: f"/ok/{w.checkin_tokens[h.id]}", everyone(200)),
    "selfcheck.press": ("POST", lambda w, h: f"/ok/{w.checkin_tokens[h.id]}",
                        everyone("redirect")),
    "elders.checkin_hour": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/checkin",
                            staff_scoped(422)),  # no hour chosen: refused at the field
    "elders.checkin_renew": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/checkin/renew",
                             staff_scoped("redirect")),
    "elders.checkin_stop": ("POST", lambda w, h: f"/elders/{h.elders[0].id}/checkin/stop",
                            staff_scoped("redirect")),
    "elders.checkin_card": ("GET", lambda w, h: f"/elders/{h.elders[0].id}/checkin/card.pdf",
                            staff_scoped(200)),
    "admin.users": ("GET", lambda w, h: "/admin/users", only({"admin"}, 200)),
    "admin.new_user": ("GET", lambda w, h: "/admin/users/new", only({"admin"}, 200)),
    "admin.edit_user": ("GET", lambda w, h: f"/admin/users/{w.worker.id}",
                        only({"admin"}, 200)),
    "admin.unlock_user": ("POST", lambda w, h: f"/admin/users/{w.worker.id}/unlock",
                          only({"admin"}, "redirect")),
    "admin.api_keys": ("GET", lambda w, h: "/admin/api-keys", only({"admin"}, 200)),
    "admin.new_api_key": ("GET", lambda w, h: "/admin/api-keys/new", only({"admin"}, 200)),
    "admin.revoke_api_key": ("POST", lambda w, h: f"/admin/api-keys/{w.api_key}/revoke",
                             only({"admin"}, "redirect")),
    # The integration API takes API keys only: a browser's session, signed in or not, gets
    # a 401 problem; its description is public.
    "api.openapi": ("GET", lambda w, h: "/api/v1/openapi.json", everyone(200)),
    **{f"api.{name}": ("GET", lambda w, h, path=path: path(w, h), everyone("api401"))
       for name, path in {
           "list_elders": lambda w, h: "/api/v1/elders",
           "get_elder": lambda w, h: f"/api/v1/elders/{h.elders[0].id}",
           "list_visits": lambda w, h: "/api/v1/visits",
           "get_visit": lambda w, h: f"/api/v1/visits/{w.visits[h.id]}",
           "list_alerts": lambda w, h: "/api/v1/alerts",
           "get_alert": lambda w, h: f"/api/v1/alerts/{w.alerts[h.id]}",
           "list_requests": lambda w, h: "/api/v1/requests",
           "get_request": lambda w, h: f"/api/v1/requests/{w.requests[h.id]}"}.items()},
    "api.post_signal": ("POST", lambda w, h: "/api/v1/signals", everyone("api401")),
    "api.post_work_order": ("POST", lambda w, h: "/api/v1/work-orders", everyone("api401")),
}
PUBLIC_FILES = {"static"}


def test_every_route_is_listed(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - PUBLIC_FILES == set(ROUTES), "add new routes to the access matrix"


@pytest.fixture
def matrix_world(world):
    """The world plus what :func:`build_matrix` adds, for a test that may change it."""
    return build_matrix(world)


@pytest.fixture(scope="module")
def shared_matrix_world(module_app):
    """The same world, built once for the module's reading requests (GET: they change
    nothing that any case reads), on the module's own database."""
    return build_matrix(build_world())


def build_matrix(world) -> SimpleNamespace:
    """The world plus, for every household, a visit, a print job, an alert, a notification
    channel of its community, a notification that failed, a roster of its own with one
    member, and a volunteer signing up in its community. The world's volunteer is an
    approved member of h1's roster only."""
    visits, jobs, alert_ids, channels, notifications, street_of = {}, {}, {}, {}, {}, {}
    request_ids, menu, links, rosters, members, signups = {}, {}, {}, {}, {}, {}
    covers, checkin_tokens, devices, followup_ids = {}, {}, {}, {}
    grid_workers = {world.h1.id: world.worker.id, world.h2.id: world.other_worker.id,
                    world.h3.id: factories.user(Role.GRID_WORKER, grid=world.h3.grid).id,
                    world.h4.id: factories.user(Role.GRID_WORKER, grid=world.h4.grid).id}
    relative = factories.user(Role.FAMILY, username="relative")
    stand_in = factories.user(Role.GRID_WORKER, username="standin")
    db.session.add(VolunteerProfile(user=world.volunteer, community=world.h1.grid.community,
                                    status=VolunteerStatus.APPROVED))
    menus.seed_catalogue()
    item = db.session.scalar(select(ServiceItem).where(ServiceItem.name == "量血压"))
    street_items = {s.id: ServiceItem(street=s, name="送餐上门", category="生活照料", unit="份",
                                      place=ServicePlace.DOOR) for s in world.streets}
    db.session.add_all(street_items.values())
    for h in (world.h1, world.h2, world.h3, world.h4):
        visit, _ = record_visit(
            visitor=world.admin, household=h, method=VisitMethod.SCANNED, door_code=h.code,
            idempotency_key=f"matrix-visit-{h.id:08d}",
            records=[ElderRecordInput(e.id, Outcome.MET_WELL) for e in h.elders])
        visits[h.id] = visit.id
        job = printjobs.create_job(actor=world.admin, households=[h], layout="a6-card",
                                   rotate=False, scope_label="matrix")
        jobs[h.id] = job.id
        alert, *_ = [alerts.raise_alert(e, AlertKind.ABNORMAL, AlertLevel.WARNING, {})
                     for e in h.elders]
        channel = NotificationChannel(community_id=h.grid.community_id,
                                      kind=ChannelKind.WEBHOOK, target="http://127.0.0.1:9/x")
        db.session.add(channel)
        db.session.flush()
        note = Notification(alert_id=alert.id, channel=channel, text="x",
                            status=DeliveryStatus.FAILED, attempts=5, last_error="refused")
        db.session.add(note)
        db.session.flush()
        alert_ids[h.id], channels[h.id], notifications[h.id] = alert.id, channel.id, note.id
        street_of[h.id] = h.grid.community.street_id
        job.status, job.pdf = JobStatus.DONE, b"%PDF-1.4 access matrix"  # not drawn: faster
        req, *_ = [requests.raise_request(e, kind="其他", description=f"{e.name}的诉求",
                                          request_class=RequestClass.SMALL,
                                          source=RequestSource.PHONE, actor=world.admin)
                   for e in h.elders]
        db.session.flush()
        request_ids[h.id] = req.id
        entry = menus.add_to_menu(h.elders[0], item=item, frequency=Frequency.WEEKLY, notes="",
                                  starts_on=date(2026, 1, 1), ends_on=None, actor=world.admin)
        db.session.flush()
        menu[h.id] = entry.id
        link = FamilyLink(user=world.family if h is world.h1 else relative,
                          elder=h.elders[0], relation="女儿")
        db.session.add(link)
        db.session.flush()
        links[h.id] = link.id
        newcomer = factories.user(Role.VOLUNTEER, username=f"newcomer{h.id}")
        db.session.add(VolunteerProfile(user=newcomer, community=h.grid.community))
        roster = Roster(name=f"排班{h.id}", community=h.grid.community, weekday=5,
                        start_time=time(9, 30), households=[h])
        member = (RosterMember(roster=roster, user=world.volunteer, status=MemberStatus.APPROVED)
                  if h is world.h1 else RosterMember(roster=roster, user=newcomer))
        db.session.add_all([roster, member])
        db.session.flush()
        rosters[h.id], members[h.id], signups[h.id] = roster.id, member.id, newcomer.id
        cover = GridAssignment(grid=h.grid, user=stand_in, starts_on=date(2090, 1, 1),
                               ends_on=date(2090, 1, 31), cover=True)
        db.session.add(cover)
        db.session.flush()
        covers[h.id] = cover.id
        selfcheck.enrol(h.elders[0], 10, actor=world.admin, now=utcnow())
        checkin_tokens[h.id] = h.elders[0].checkin_token
        device = Device(code=f"matrix-{h.id}", household=h, kind=DeviceKind.WATER_METER)
        db.session.add(device)
        db.session.flush()
        devices[h.id] = device.id
        followup_ids[h.id] = followups.add(
            h.elders[0], followups.FollowUpInput("复测血压", local_today()), actor=world.admin,
            today=local_today()).id
    api_key = apikeys.create(world.admin, name="matrix", street=world.streets[0],
                             permissions=list(ApiPermission)).key
    db.session.commit()
    return SimpleNamespace(**vars(world), api_key=api_key.id, visits=visits, jobs=jobs,
                           alerts=alert_ids,
                           channels=channels, notifications=notifications, street_of=street_of,
                           requests=request_ids, menu=menu, spare_item=item.id,
                           street_items={k: v.id for k, v in street_items.items()},
                           links=links, rosters=rosters, members=members, signups=signups,
                           covers=covers, grid_workers=grid_workers,
                           checkin_tokens=checkin_tokens, devices=devices,
                           followups=followup_ids)


def check(response, expected, household, scope_elders):
    body = response.get_data().decode("utf-8", errors="replace")  # PDFs are binary
    name = household.elders[0].name
    if expected == "page":
        assert response.status_code == 200 and name in body
    elif expected == "neutral":
        assert response.status_code == 200 and name not in body
        assert household.number not in body and household.elders[0].phone not in body
    elif expected == "login":
        assert response.status_code == 302 and "/login" in response.location
    elif expected == "redirect":
        assert response.status_code == 302 and "/login" not in response.location
    elif expected == "api401":
        assert response.status_code == 401
        assert response.content_type == "application/problem+json"
        assert name not in body and "Set-Cookie" not in response.headers
    elif expected == "round":
        # A list page: the role's own elders, never another area's.
        assert response.status_code == 200
        assert all(e.name in body for e in scope_elders["own"])
        assert not any(e.name in body for e in scope_elders["other"])
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_access(request, database_url, endpoint, role):
    method, url_for_household, expect = ROUTES[endpoint]
    if method == "GET":  # reads: one world for them all, a fresh browser each
        w = request.getfixturevalue("shared_matrix_world")
        client = request.getfixturevalue("module_app").test_client()
        limiter.reset()
    else:  # a change: a world of its own
        w = request.getfixturevalue("matrix_world")
        client = request.getfixturevalue("client")
    if role != "anonymous":
        assert login(client, getattr(w, role)).status_code == 302
    own, other = (getattr(w, name) for name in TARGETS[role])
    scope_elders = {"own": own.elders, "other": other.elders if role != "admin" else []}
    for which, household in (("own", own), ("other", other)):
        response = client.open(url_for_household(w, household), method=method)
        check(response, expect(role, which), household, scope_elders)
        if endpoint in ("auth.logout", "auth.sign_out_everywhere") and role != "anonymous":
            login(client, getattr(w, role))
