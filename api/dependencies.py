"""Access to the composition root from request handlers."""

from __future__ import annotations

from fastapi import Request

from mentorpay.bootstrap import Container


def container(request: Request) -> Container:
    return request.app.state.container
