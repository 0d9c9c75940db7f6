"""The console: server-rendered pages over the same services and read queries as the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from liuyu.api.deps import SESSION_COOKIE, principal_from_request
from liuyu.api.masking import mask_summary, mask_view
from liuyu.api.routes.conversations import TOUCH_VIEWERS, customer_touches
from liuyu.console.i18n import DEFAULT_LOCALE, LOCALES, gettext_for, local_time
from liuyu.domain.customers.identity import IdentityPolicy
from liuyu.domain.errors import LiuyuError
from liuyu.domain.orders import from_fen
from liuyu.services import accounts
from liuyu.services.accounts import Principal
from liuyu.services.identity import unmerge
from liuyu.storage.customer_queries import customer_360, customer_summaries, find_customers, workspace_counts
from liuyu.storage.uow import SqlUnitOfWork

HERE = Path(__file__).parent
env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
)
env.filters["yuan"] = lambda fen: "-" if fen is None else f"¥{from_fen(fen):,.2f}"
LOCALE_COOKIE = "liuyu_locale"


def _locale(request: Request, principal: Principal | None = None) -> str:
    chosen = request.cookies.get(LOCALE_COOKIE)
    if chosen in LOCALES:
        return chosen
    return principal.locale if principal and principal.locale in LOCALES else DEFAULT_LOCALE


def render(
    request: Request, template: str, principal: Principal | None = None, status: int = 200, **context: Any
) -> HTMLResponse:
    locale = _locale(request, principal)
    gettext, ngettext = gettext_for(locale)
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    html = env.get_template(template).render(
        request=request,
        principal=principal,
        locale=locale,
        t=lambda moment: local_time(moment, locale),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def mount_area_pages(app: FastAPI) -> None:
    """Each area's console pages (console/<area>_routes.py); one call a line."""
    from liuyu.console import loyalty_routes  # here: area pages import render and friends from this module
    from liuyu.console.engagement_routes import mount as mount_engagement
    from liuyu.console.journey_routes import mount as mount_journeys
    from liuyu.console.knowledge_routes import mount as mount_kb
    from liuyu.console.messaging_routes import mount as mount_messaging
    from liuyu.console.playbook_routes import mount as mount_playbooks
    from liuyu.console.service_reports_routes import mount as mount_service_reports
    from liuyu.console.service_routes import mount as mount_service
    from liuyu.console.ticket_routes import mount as mount_tickets

    loyalty_routes.mount(app)
    mount_engagement(app)
    mount_service(app)
    mount_tickets(app)
    mount_service_reports(app)
    mount_journeys(app)
    mount_playbooks(app)
    mount_kb(app)
    mount_messaging(app)


def _principal(request: Request) -> Principal | None:
    return principal_from_request(request, request.app.state.container)


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/console/login?next={request.url.path}", status_code=303)


def mount_console(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    mount_area_pages(app)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/console/customers", status_code=303)

    @app.get("/console/lang/{locale}", include_in_schema=False)
    def switch_language(locale: str, request: Request) -> RedirectResponse:
        back = request.headers.get("referer") or "/console/customers"
        response = RedirectResponse(back, status_code=303)
        if locale in LOCALES:
            response.set_cookie(LOCALE_COOKIE, locale, max_age=365 * 86400, samesite="lax")
        return response

    @app.get("/console/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/console/customers") -> HTMLResponse:
        return render(request, "login.html", next=next, error=None)

    @app.post("/console/login", include_in_schema=False)
    def login(
        request: Request, email: str = Form(...), password: str = Form(...), next: str = Form("/console/customers")
    ) -> Response:
        container = request.app.state.container
        with SqlUnitOfWork(container.engine) as uow:
            token = accounts.login(uow.accounts, email, password, hours=container.settings.session_hours)
            uow.commit()
        if token is None:
            return render(request, "login.html", next=next, error="Wrong email or password.", status=401)
        target = next if next.startswith("/console/") else "/console/customers"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE, token, httponly=True, samesite="lax", max_age=container.settings.session_hours * 3600
        )
        return response

    @app.post("/console/logout", include_in_schema=False)
    def logout(request: Request) -> RedirectResponse:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with SqlUnitOfWork(request.app.state.container.engine) as uow:
                uow.accounts.delete_session(accounts.hash_secret(token))
                uow.commit()
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/console/customers", include_in_schema=False)
    def customers_page(request: Request, q: str = "") -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        container = request.app.state.container
        with container.engine.connect() as conn:
            found = (
                customer_summaries(conn, principal.workspace_id, find_customers(conn, principal.workspace_id, q))
                if q
                else []
            )
            counts = workspace_counts(conn, principal.workspace_id)
        rows = [mask_summary(row, principal) for row in found]
        return render(request, "customers.html", principal, q=q, rows=rows, counts=counts)

    @app.get("/console/customers/{customer_id}", include_in_schema=False)
    def customer_page(customer_id: int, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with request.app.state.container.engine.connect() as conn:
            view = customer_360(conn, principal.workspace_id, customer_id)
            touches = (
                customer_touches(conn, principal.workspace_id, view["customer"]["id"], principal)
                if view and principal.role in TOUCH_VIEWERS
                else None
            )
        if view is None:
            return render(request, "not_found.html", principal, status=404, what=customer_id)
        if view["customer"]["id"] != customer_id:
            return RedirectResponse(f"/console/customers/{view['customer']['id']}", status_code=303)
        return render(request, "customer.html", principal, view=mask_view(view, principal), touches=touches)

    @app.post("/console/merges/{merge_id}/undo", include_in_schema=False)
    def undo_merge(merge_id: int, request: Request, customer: int = Form(...)) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        container = request.app.state.container
        try:
            principal.require("admin", "operator", "supervisor")
            with SqlUnitOfWork(container.engine) as uow:
                unmerge(
                    uow,
                    principal.workspace_id,
                    merge_id,
                    actor=principal.actor,
                    policy=IdentityPolicy(protect_verified_phones=container.settings.protect_verified_phones),
                )
                uow.commit()
        except LiuyuError as exc:
            return render(request, "error.html", principal, status=400, message=str(exc))
        return RedirectResponse(f"/console/customers/{customer}", status_code=303)

    @app.get("/console/imports", include_in_schema=False)
    def imports_page(request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            history = uow.imports.history(principal.workspace_id)
        return render(request, "imports.html", principal, imports=history)

    @app.get("/console/imports/{import_id}/errors", include_in_schema=False)
    def import_errors(import_id: int, request: Request) -> Response:
        principal = _principal(request)
        if principal is None:
            return _login_redirect(request)
        with SqlUnitOfWork(request.app.state.container.engine) as uow:
            row = uow.imports.get(principal.workspace_id, import_id)
        if row is None or not row["error_file"] or not Path(row["error_file"]).is_file():
            return render(request, "not_found.html", principal, status=404, what=import_id)
        return FileResponse(row["error_file"], media_type="text/csv", filename=Path(row["error_file"]).name)
