"""The venue's log: every reservation's moves and every change its managers made."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, request, url_for

from ...extensions import db
from ...forms.manage import LogFilterForm
from ...models import Membership, Resource, User
from ...presentation.manage import GROUP_LABELS
from ...services.audit import ACTION_GROUPS, LogFilter, venue_log
from .. import access
from .common import bp, managed_venue

PAGE = 50
MAX_PAGES = 200


@bp.route("/venues/<slug>/log")
@access.manager
def log(slug: str) -> str:
    venue = managed_venue(slug)
    form = LogFilterForm(request.args)
    form.configure(
        db.session.execute(
            sa.select(User.id, User.display_name)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.venue_id == venue.id)
            .order_by(sa.func.lower(User.display_name))
        ).tuples(),
        db.session.execute(
            sa.select(Resource.id, Resource.name)
            .where(Resource.venue_id == venue.id)
            .order_by(Resource.name)
        ).tuples(),
        [(code, str(GROUP_LABELS[code])) for code in ACTION_GROUPS],
    )
    valid = form.validate()
    filters = LogFilter()
    if valid:
        filters = LogFilter(
            since=form.since.data,
            until=form.until.data,
            member_id=form.member.data or None,
            resource_id=form.resource.data or None,
            group=form.action.data or None,
        )
    page_text = request.args.get("page", "1")
    page = min(int(page_text), MAX_PAGES) if page_text.isdigit() and len(page_text) < 5 else 1
    page = max(page, 1)
    entries, more = venue_log(db.session, venue, filters, offset=(page - 1) * PAGE, limit=PAGE)

    def page_url(number: int) -> str:
        return url_for("manage.log", slug=venue.slug, **{**request.args.to_dict(), "page": number})

    return render_template(
        "manage/log.html",
        venue=venue,
        form=form,
        entries=entries,
        newer_url=page_url(page - 1) if page > 1 else None,
        older_url=page_url(page + 1) if more else None,
        filtered=valid and filters != LogFilter(),
    )
