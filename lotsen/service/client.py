"""The CLI's client of a Lotsen server: `ask` and `approvals` through the HTTP API.

With LOTSEN_SERVER_URL and LOTSEN_SERVER_TOKEN set, those commands act as the token's user
on the server's world (the server decides who that is; `--as` is refused).
"""

import json
from typing import Any

import httpx
from pydantic import BaseModel, TypeAdapter

from memory.approvals import ApprovalRequest
from tools.errors import (
    BackendUnavailableError,
    ConfigError,
    ConflictError,
    LotsenError,
    NotFoundError,
)
from world.approvals import DecisionOutcome
from world.settings import Settings

TIMEOUT_S = 300.0
"""An approval may retrain before it answers."""


class AskReply(BaseModel):
    """The answer event of a chat message, as the server streamed it."""

    thread: str
    answer: dict[str, Any]
    queued_approvals: list[str]


class ServerClient:
    """A Lotsen server, as the user of an API token."""

    def __init__(self, url: str, token: str, transport: httpx.BaseTransport | None = None) -> None:
        """Talk to `url` with `token` (`transport`: tests pass the app's)."""
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def approvals(self, status: str | None) -> list[ApprovalRequest]:
        """Approval requests (of `status`, or all)."""
        params = {"status": status} if status else {}
        data = self._request("GET", "/approvals", params=params).json()
        return TypeAdapter(list[ApprovalRequest]).validate_python(data)

    def decide(self, request_id: str, approved: bool, note: str | None) -> DecisionOutcome:
        """Approve or reject a request as the token's user."""
        verb = "approve" if approved else "reject"
        response = self._request("POST", f"/approvals/{request_id}/{verb}", json={"note": note})
        return DecisionOutcome.model_validate(response.json())

    def ask(self, question: str, tier: str | None, thread: str | None = None) -> AskReply:
        """Ask in `thread` (a new one by default); the streamed answer, once complete."""
        if thread is None:
            opened = self._request("POST", "/chat/threads", json={"title": "cli"})
            thread = str(opened.json()["id"])
        body = {"text": question, "tier": tier}
        response = self._request("POST", f"/chat/threads/{thread}/messages", json=body)
        for block in response.text.split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
            if fields.get("event") == "answer":
                data = json.loads(fields["data"])
                return AskReply(
                    thread=thread,
                    answer=data["reply"]["answer"],
                    queued_approvals=data["queued_approvals"],
                )
        raise BackendUnavailableError(f"{self._http.base_url}: the answer stream ended early")

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise BackendUnavailableError(
                f"cannot reach the Lotsen server at {self._http.base_url} ({exc})"
            ) from None
        if response.status_code >= 400:
            raise _error(response)
        return response


def _error(response: httpx.Response) -> LotsenError:
    try:
        detail = str(response.json().get("detail", response.text))
    except ValueError:
        detail = response.text[:200] or response.reason_phrase
    message = f"server: {detail}"
    if response.status_code == 404:
        return NotFoundError(message)
    if response.status_code == 409:
        return ConflictError(message)
    if response.status_code >= 500:
        return BackendUnavailableError(message)
    return ConfigError(message)


def server_client(settings: Settings, as_user: str | None = None) -> ServerClient | None:
    """The server the CLI acts through, or None (embedded world).

    Raises:
        ConfigError: only one of URL and token is set, or `--as` was given with a server.
    """
    url, token = settings.server_url, settings.server_token
    if url is None and token is None:
        return None
    if url is None or token is None:
        raise ConfigError("set both LOTSEN_SERVER_URL and LOTSEN_SERVER_TOKEN (or neither)")
    if as_user is not None:
        raise ConfigError(
            "--as cannot be used with LOTSEN_SERVER_URL: the server acts as the user of "
            "LOTSEN_SERVER_TOKEN"
        )
    return ServerClient(url, token.get_secret_value())
