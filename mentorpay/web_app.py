"""Serve the built web app (``web/dist``) next to the API, same origin, with its
``/app-config.json``: demo tokens for a user, a mentor and an administrator (the demo only: a real
deployment serves each person their own), and the sandbox's Stripe.js stand-in."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from mentorpay.auth_tokens import issue_token
from mentorpay.bootstrap import Container

WEB_DIST = Path(__file__).resolve().parents[1] / "web" / "dist"
DEMO_USER = "demo-user"
DEMO_MENTOR = "mentor-ada"  # the demo catalogue's first mentor
DEMO_ADMIN = "demo-admin"
PAGES = ("/", "/return", "/bookings", "/mentor", "/claims")


def mount_web_app(
    app: FastAPI, container: Container, sandbox_url: str | None, dist: Path = WEB_DIST
) -> None:
    """``sandbox_url`` None means real Stripe.js (a real publishable key is then needed)."""
    index = dist / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"{index} is missing: build the web app (cd web && npm run build)")
    secret = container.settings.jwt_secret.get_secret_value()
    config: dict[str, object] = {
        "apiBaseUrl": "",
        "userToken": issue_token(secret, DEMO_USER, "user", ttl_minutes=24 * 60),
        "mentorToken": issue_token(secret, DEMO_MENTOR, "mentor", ttl_minutes=24 * 60),
        "adminToken": issue_token(secret, DEMO_ADMIN, "admin", ttl_minutes=24 * 60),
        "publishableKey": "pk_test_sandbox",
        "stripeJsUrl": f"{sandbox_url}/_sandbox/stripe.js" if sandbox_url else None,
    }

    @app.get("/app-config.json", include_in_schema=False)
    def app_config() -> dict[str, object]:
        return config

    def page() -> FileResponse:
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    for path in PAGES:
        app.add_api_route(path, page, methods=["GET"], include_in_schema=False)
    app.mount("/assets", StaticFiles(directory=dist / "assets"), name="web-assets")
