"""The daily check-in (平安打卡) on the elder page: take part and choose the hour, change it,
renew the link, stop; print the fridge card. For staff with the elder in scope, as pauses
and family invites are."""

from flask import current_app, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.access import staff_required
from carevisits.elders.blueprint import bp, detail_page, elder_in_scope
from carevisits.elders.forms import CheckinHourForm
from carevisits.extensions import db
from carevisits.models.base import utcnow
from carevisits.responses import download
from carevisits.services import audit, fridge_card, selfcheck
from carevisits.services.fonts import FontUnavailable


def _back(elder_id: int):
    return redirect(url_for("elders.detail", elder_id=elder_id, _anchor="daily-checkin"))


@bp.post("/<int:elder_id>/checkin")
@staff_required
def checkin_hour(elder_id: int):
    """Take part in the daily check-in by the chosen hour, or change the hour."""
    elder, form = elder_in_scope(elder_id), CheckinHourForm()
    if form.validate_on_submit():
        taking_part = elder.checkin_token is not None
        change = selfcheck.change_hour if taking_part else selfcheck.enrol
        try:
            change(elder, form.hour.data, actor=current_user, now=utcnow())
        except selfcheck.SelfCheckError as err:
            db.session.rollback()
            form.hour.errors = [str(err)]
        else:
            db.session.commit()
            flash(_l("Daily check-in hour saved.") if taking_part else
                  _l("%(name)s now takes part in the daily check-in. Print the card for the "
                     "fridge.", name=elder.name), "info")
            return _back(elder.id)
    return detail_page(elder, checkin_form=form, status=422)


@bp.post("/<int:elder_id>/checkin/renew")
@staff_required
def checkin_renew(elder_id: int):
    """A new personal link; the old one (and its printed card) stops working at once."""
    return _change(elder_id, selfcheck.renew,
                   _l("New link made: the old card no longer works. Print the new one."))


@bp.post("/<int:elder_id>/checkin/stop")
@staff_required
def checkin_stop(elder_id: int):
    """The elder no longer takes part: the link stops working, no more alerts."""
    return _change(elder_id, selfcheck.stop, _l("Daily check-in stopped."))


def _change(elder_id: int, change, done):
    """Renew or stop the check-in of an elder who takes part (else nothing to do)."""
    elder = elder_in_scope(elder_id)
    if elder.checkin_token is not None:
        change(elder, actor=current_user)
        db.session.commit()
        flash(done, "info")
    return _back(elder.id)


@bp.get("/<int:elder_id>/checkin/card.pdf")
@staff_required
def checkin_card(elder_id: int):
    """The fridge card with the QR of the elder's personal link, as a PDF download."""
    elder = elder_in_scope(elder_id)
    if elder.checkin_token is None:
        return _back(elder.id)
    given = selfcheck.given_name(elder.name)
    hotline = elder.household.grid.community.hotline or current_app.config["HOTLINE"]
    try:
        pdf = fridge_card.render(
            selfcheck.personal_url(current_app.config["BASE_URL"], elder.checkin_token),
            given, elder.checkin_by_hour, hotline)
    except fridge_card.CardTextMissing as err:
        flash(_l("The font cannot print these characters: %(chars)s. Correct the name or the "
                 "hotline, or install a fuller font.", chars=" ".join(sorted(err.missing))),
              "error")
        return _back(elder.id)
    except FontUnavailable as err:
        flash(str(err), "error")
        return _back(elder.id)
    audit.record(current_user, "selfcheck.card", "elder", elder.id)
    db.session.commit()
    return download(pdf, f"平安打卡卡片-{given}.pdf", mimetype="application/pdf")
