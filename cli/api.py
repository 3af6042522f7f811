"""The app's HTTP API as the CLI calls it: one session, the role's key on each call, errors made
plain. Nothing here knows the app's internals: it reads what the API answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

TIMEOUT_SECONDS = 60


class ApiError(Exception):
    """The API refused (4xx/5xx, with its error code and message) or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Api:
    url: str
    reader_key: str = ""
    operator_key: str = ""

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self._session = requests.Session()

    def fleet(self, wave: str | None = None) -> dict[str, Any]:
        return dict(self._call("GET", "/api/fleet", self.reader_key, params=_wave(wave)).json())

    def migration(self, instance_id: str) -> dict[str, Any]:
        return dict(
            self._call("GET", f"/api/migrations/{quote(instance_id, safe='')}", self.reader_key).json()
        )

    def export(self, wave: str | None, fmt: str) -> str:
        params = {"format": fmt, **_wave(wave)}
        return self._call("GET", "/api/assessments", self.reader_key, params=params).text

    def command(self, name: str, instance_id: str | None, wave: str | None, reason: str) -> dict[str, Any]:
        target = (
            f"waves/{quote(wave, safe='')}" if wave else f"migrations/{quote(instance_id or '', safe='')}"
        )
        body = {"reason": reason} if reason else None
        return dict(self._call("POST", f"/api/{target}/{name}", self.operator_key, json=body).json())

    def _call(self, method: str, path: str, key: str, **kwargs: Any) -> requests.Response:
        if not key:
            role = "operator" if method == "POST" else "reader"
            raise ApiError(
                f"no {role} key: pass --{'operator-' if role == 'operator' else ''}key or set its variable"
            )
        try:
            response = self._session.request(
                method, self.url + path, headers={"x-functions-key": key}, timeout=TIMEOUT_SECONDS, **kwargs
            )
        except requests.RequestException as error:
            raise ApiError(f"{self.url} did not answer: {type(error).__name__}") from None
        if response.status_code >= 400:
            raise ApiError(_error_text(response), response.status_code)
        return response


def _wave(wave: str | None) -> dict[str, str]:
    return {"wave": wave} if wave else {}


def _error_text(response: requests.Response) -> str:
    if response.status_code == 401:
        return "401: the key was refused (wrong key, or another role's)"
    try:
        error = response.json()["error"]
        return f"{response.status_code} {error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"{response.status_code}: {response.text[:200]}"
