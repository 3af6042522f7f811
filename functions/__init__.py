"""Thin triggers: parse, authenticate, call shared/. One blueprint per trigger family."""

from __future__ import annotations

import azure.functions as func

from functions.status import blueprint as status_blueprint


def blueprints() -> list[func.Blueprint]:
    return [status_blueprint]
