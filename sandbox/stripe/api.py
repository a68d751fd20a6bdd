"""The ``/v1`` HTTP surface: authentication, form decoding, idempotency, Stripe's errors.

A call goes: API key → parameters decoded → (lock) replay or refuse a reused
Idempotency-Key → parameters validated → operation → ``expand[]`` → response saved under
its key. Operations run under the emulator's lock, so calls are serialised.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from sandbox.stripe import expansion
from sandbox.stripe.errors import (
    StripeError,
    authentication_error,
    param_error,
    unrecognized_url,
)
from sandbox.stripe.events import API_VERSION, RequestRef, current_request
from sandbox.stripe.formcodec import FormDecodeError, decode_form
from sandbox.stripe.idempotency import MAX_KEY_LENGTH, SavedResponse, fingerprint
from sandbox.stripe.ids import new_id
from sandbox.stripe.params import validate
from sandbox.stripe.routes import Call, Route, stripe_routes
from sandbox.stripe.store import snapshot

if TYPE_CHECKING:
    from sandbox.stripe.emulator import StripeEmulator

log = logging.getLogger(__name__)
JSON = dict[str, Any]
_KEY = re.compile(r"(sk|rk)_test_[A-Za-z0-9_]+")


async def _read_body(request: Request) -> bytes:
    return await request.body()


def build_api_router(emulator: StripeEmulator) -> APIRouter:
    handler = _Handler(emulator)
    router = APIRouter(tags=["stripe"])
    for route in stripe_routes(emulator):
        router.add_api_route(
            route.path, handler.endpoint(route), methods=[route.method], include_in_schema=False
        )
    router.add_api_route(
        "/v1/{rest:path}",
        handler.unknown,
        methods=["GET", "POST", "DELETE", "PUT", "PATCH"],
        include_in_schema=False,
    )
    return router


class _Handler:
    def __init__(self, emulator: StripeEmulator) -> None:
        self._em = emulator

    def endpoint(self, route: Route) -> Callable[..., Response]:
        # A sync endpoint: FastAPI runs it on its thread pool; the body is read beforehand.
        def endpoint(request: Request, body: bytes = Depends(_read_body)) -> Response:
            return self.handle(route, request, body)

        return endpoint

    def unknown(self, request: Request) -> Response:
        headers = _headers(request, new_id("req_", 14), None)
        try:
            _api_key(request)
            raise unrecognized_url(request.method, request.url.path)
        except StripeError as error:
            return _json(error.status, error.body(), headers)

    def handle(self, route: Route, request: Request, body: bytes) -> Response:
        request_id = new_id("req_", 14)
        key = request.headers.get("idempotency-key") if route.method == "POST" else None
        headers = _headers(request, request_id, key)
        try:
            api_key = _api_key(request)
            raw = _raw_params(route, request, body)
            account = request.headers.get("stripe-account")
            if account and not route.account_scoped:
                raise param_error(
                    "The sandbox accepts the Stripe-Account header only on GET /v1/balance.", None
                )
            if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
                raise param_error(
                    f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.", None
                )
        except StripeError as error:
            return _json(error.status, error.body(), headers)

        with self._em.lock:
            # Anything due on the sandbox clock happens before the call sees the state.
            self._em.payments.expire_due_sessions()
            now = self._em.clock.timestamp()
            request_fingerprint = fingerprint(route.method, request.url.path, raw)
            try:
                saved = (
                    self._em.idempotency.lookup(api_key, key, request_fingerprint, now)
                    if key
                    else None
                )
            except StripeError as error:
                return _json(error.status, error.body(), headers)
            if saved is not None:
                replay = {"Idempotent-Replayed": "true", "Original-Request": saved.request_id}
                return _json(saved.status, saved.body, headers | replay)
            status, payload, keep = self._execute(
                route, request, raw, account, RequestRef(request_id, key)
            )
            if key and keep:
                self._em.idempotency.save(
                    api_key,
                    key,
                    SavedResponse(request_fingerprint, status, payload, request_id, now),
                )
        return _json(status, payload, headers)

    def _execute(
        self, route: Route, request: Request, raw: JSON, account: str | None, ref: RequestRef
    ) -> tuple[int, JSON, bool]:
        """(status, body, whether an Idempotency-Key keeps it)."""
        token = current_request.set(ref)
        try:
            params = validate(route.model, raw)
            expansion.check(route.returns, list(params.expand), is_list=route.is_list)
            call = Call(
                params, dict(request.path_params), str(request.base_url).rstrip("/"), account
            )
            result = snapshot(route.handler(call))
            return (
                200,
                expansion.expand(result, list(params.expand), self._resolve, is_list=route.is_list),
                True,
            )
        except StripeError as error:
            return error.status, error.body(), error.saved
        except Exception:
            # A bug, not bad input: answer in Stripe's shape; Stripe keeps 500s unsaved too.
            log.exception("sandbox Stripe %s %s failed", route.method, route.path)
            return (
                500,
                StripeError(
                    500, "api_error", "The sandbox hit an internal error; see its log."
                ).body(),
                False,
            )
        finally:
            current_request.reset(token)

    def _resolve(self, object_id: str) -> JSON | None:
        found = self._em.store.any_by_id(object_id)
        return snapshot(found) if found is not None else None


def _api_key(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise authentication_error(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY')."
        )
    scheme, _, credentials = header.partition(" ")
    key = credentials.strip()
    if scheme.lower() == "basic":  # curl -u sk_test_...:
        try:
            key = base64.b64decode(key, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            key = ""
    elif scheme.lower() != "bearer":
        raise authentication_error("Invalid Authorization header: use 'Bearer sk_test_...'.")
    if not _KEY.fullmatch(key):
        shown = f"{key[:8]}{'*' * 4}{key[-4:]}" if len(key) > 12 else "****"
        raise authentication_error(
            f"Invalid API Key provided: {shown}. The sandbox accepts test-mode secret keys "
            "(sk_test_... or rk_test_...)."
        )
    return key


def _raw_params(route: Route, request: Request, body: bytes) -> JSON:
    try:
        params = decode_form(request.url.query)
        if route.method == "POST" and body:
            content_type = request.headers.get("content-type", "")
            if not content_type.startswith("application/x-www-form-urlencoded"):
                raise param_error(
                    "Invalid request: Stripe's v1 API takes application/x-www-form-urlencoded "
                    f"bodies, not {content_type or 'an untyped body'}.",
                    None,
                )
            params |= decode_form(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise param_error("Invalid request body: it is not UTF-8.", None) from None
    except FormDecodeError as error:
        raise param_error(error.message, error.param) from None
    return params


def _headers(request: Request, request_id: str, key: str | None) -> dict[str, str]:
    headers = {
        "Request-Id": request_id,
        "Stripe-Version": request.headers.get("stripe-version", API_VERSION),
    }
    if key:
        headers["Idempotency-Key"] = key
    return headers


def _json(status: int, body: JSON, headers: dict[str, str]) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)
