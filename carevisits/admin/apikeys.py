"""API keys of integrations: the list, a new key (shown once, on the page that made it) and
revoking one. Every creation and revocation is audited (services/apikeys.py)."""

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from carevisits.access import admin_required
from carevisits.admin.blueprint import bp
from carevisits.admin.forms import API_PERMISSIONS, ApiKeyForm, key_area_choices
from carevisits.extensions import db
from carevisits.models import ApiKey, ApiPermission
from carevisits.services import apikeys, webhooks


@bp.get("/api-keys")
@admin_required
def api_keys():
    """Every key: name, prefix, area, permissions, last use, revoked or live."""
    return render_template("admin/api_keys.html", keys=apikeys.all_keys(),
                           key_area=apikeys.scope_label, permissions=API_PERMISSIONS)


@bp.route("/api-keys/new", methods=["GET", "POST"])
@admin_required
def new_api_key():
    """Make a key; the key and its signing secret are shown on the answer to this form only,
    never again."""
    form = ApiKeyForm()
    form.area.choices = key_area_choices()
    if not form.is_submitted():
        return render_template("admin/api_key_form.html", form=form)
    valid, area = form.validate(), form.chosen_area()
    wanted = dict(name=form.name.data or "", street=area.street, community=area.community,
                  permissions=[ApiPermission(p) for p in form.permissions.data or []
                               if p in ApiPermission.__members__.values()],
                  webhook_url=form.webhook_url.data or "",
                  rules=webhooks.policy(current_app.config))
    found = apikeys.problems(**wanted)  # the key's rules with the form's: all errors at once
    for name, messages in found.items():  # each message once, the form's first
        shown = [str(m) for m in form[name].errors]
        form[name].errors = [*form[name].errors, *(m for m in messages if str(m) not in shown)]
    if not valid or found:
        return render_template("admin/api_key_form.html", form=form), 422
    made = apikeys.create(current_user, **wanted,
                          signature_required=form.signature_required.data)
    db.session.commit()
    return render_template("admin/api_key_made.html", key=made.key, raw=made.raw,
                           key_area=apikeys.scope_label, permissions=API_PERMISSIONS)


@bp.post("/api-keys/<int:key_id>/revoke")
@admin_required
def revoke_api_key(key_id: int):
    """Revoke a key: its next request is refused."""
    key = db.session.get(ApiKey, key_id) or abort(404)
    apikeys.revoke(current_user, key)
    db.session.commit()
    flash(_l("API key %(name)s is revoked: it is refused from its next request on.",
             name=key.name), "info")
    return redirect(url_for("admin.api_keys"))
