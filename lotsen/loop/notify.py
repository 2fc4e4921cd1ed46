"""Notifications: new incidents and approval requests, posted to a webhook and to Slack.

The loop only queues (`Notifier.incident`, `Notifier.approval`: one row per event and
channel in the outbox, so a re-run tick queues nothing twice). A `DeliveryWorker` thread
posts what is due with a short timeout, retries a failure with exponential backoff (bounded
attempts), and records a delivery that ran out of attempts as failed, with its last error,
in the outbox and the audit log. A slow or dead receiver never holds up the loop.

Each message links to the console page of the incident or the approval request
(`{LOTSEN_CONSOLE_URL}/approvals/<id>`): the page asks the reader to log in and checks
their role; the link carries no authority by itself.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from memory.approvals import ApprovalRequest
from memory.notifications import Delivery, NotificationOutbox
from tools.drift.incidents import Incident
from world.settings import Settings

logger = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=15)
Post = Callable[[str, dict[str, Any], float], None]


def channels(settings: Settings) -> dict[str, str]:
    """Configured channel -> URL (`webhook`, `slack`); empty when notifications are off."""
    out = {}
    if settings.notify_webhook_url is not None:
        out["webhook"] = settings.notify_webhook_url.get_secret_value()
    if settings.notify_slack_url is not None:
        out["slack"] = settings.notify_slack_url.get_secret_value()
    return out


def console_link(settings: Settings, page: str, item_id: str) -> str | None:
    """The console page of an item (login required there), or None without a console URL."""
    if settings.console_url is None:
        return None
    return f"{settings.console_url.rstrip('/')}/{page}/{item_id}"


def incident_event(incident: Incident, link: str | None, at: datetime) -> dict[str, Any]:
    """The generic webhook body of a new incident."""
    return {
        "event": "incident.opened",
        "id": incident.id,
        "at": at.isoformat(),
        "summary": f"{incident.kind}: {len(incident.models)} model(s). {incident.probable_cause}",
        "url": link,
        "data": {
            "kind": incident.kind,
            "models": incident.models,
            "pipeline": incident.pipeline,
            "features": incident.features,
            "probable_cause": incident.probable_cause,
            "window_start": incident.window_start.isoformat(),
        },
    }


def approval_event(request: ApprovalRequest, link: str | None, at: datetime) -> dict[str, Any]:
    """The generic webhook body of a new approval request."""
    return {
        "event": "approval.requested",
        "id": request.id,
        "at": at.isoformat(),
        "summary": (
            f"{request.agent} asks to {request.action} on {_models(request.models)}: "
            + "; ".join(request.reasons)
        ),
        "url": link,
        "data": {
            "agent": request.agent,
            "action": request.action,
            "models": request.models,
            "reasons": request.reasons,
            "proposer": request.proposer,
            "incident_id": request.incident_id,
            "expires_at": request.expires_at.isoformat(),
        },
    }


def slack_message(event: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook format (`text` plus Block Kit `blocks`) of an event."""
    title = {
        "incident.opened": f"New incident {event['id']}",
        "approval.requested": f"Approval requested: {event['id']}",
    }.get(event["event"], event["event"])
    text = f"{title}: {event['summary']}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(event["summary"])[:3000]}},
    ]
    if event.get("url"):
        label = "Review and decide" if event["event"] == "approval.requested" else "Open"
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": f"{label} (login required)"},
                        "url": event["url"],
                    }
                ],
            }
        )
    return {"text": text, "blocks": blocks}


class Notifier:
    """Queues events in the outbox for every configured channel (the loop's side)."""

    def __init__(self, settings: Settings, outbox: NotificationOutbox) -> None:
        """Queue into `outbox` for the channels `settings` configures."""
        self._settings = settings
        self._outbox = outbox
        self._channels = channels(settings)

    def incident(self, incident: Incident, at: datetime) -> int:
        """Queue a new incident (once per incident id); return the rows queued."""
        link = console_link(self._settings, "incidents", incident.id)
        return self._queue(f"incident:{incident.id}", incident_event(incident, link, at))

    def approval(self, request: ApprovalRequest, at: datetime) -> int:
        """Queue an approval request (once per request id); return the rows queued."""
        link = console_link(self._settings, "approvals", request.id)
        return self._queue(f"approval:{request.id}", approval_event(request, link, at))

    def _queue(self, key: str, event: dict[str, Any]) -> int:
        if not self._channels:
            return 0
        payloads = {c: slack_message(event) if c == "slack" else event for c in self._channels}
        return self._outbox.enqueue(key, event["event"], payloads, datetime.now(UTC))


def http_post(url: str, body: dict[str, Any], timeout_s: float) -> None:
    """POST JSON; raise on a transport error or a non-2xx answer."""
    response = httpx.post(url, json=body, timeout=timeout_s)
    response.raise_for_status()


def deliver_due(
    settings: Settings,
    outbox: NotificationOutbox,
    *,
    post: Post = http_post,
    on_failed: Callable[[Delivery, str], None] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Attempt every due delivery once; return how many were attempted.

    A failure is retried after `notify_backoff_s * 2**(attempts-1)` (capped at 15 minutes)
    until `notify_attempts` attempts were made; then it is recorded as failed and
    `on_failed` is told. Backoff runs on `clock` (wall-clock time: the receiver lives in
    the real world even when the world's clock is the twin's).
    """
    urls = channels(settings)
    attempted = 0
    for d in outbox.due(clock()):
        attempted += 1
        url = urls.get(d.channel)
        error = None
        if url is None:
            error = f"channel {d.channel} is no longer configured"
        else:
            try:
                post(url, d.payload, settings.notify_timeout_s)
            except (httpx.HTTPError, OSError) as exc:
                error = _error_line(exc)
        now = clock()
        if error is None:
            outbox.delivered(d.event, d.channel, now)
            continue
        attempts = d.attempts + 1
        if attempts >= settings.notify_attempts or url is None:
            outbox.attempt_failed(d.event, d.channel, error, now, None)
            logger.warning("notification %s to %s failed for good: %s", d.event, d.channel, error)
            if on_failed is not None:
                on_failed(d.model_copy(update={"attempts": attempts}), error)
            continue
        delay = min(timedelta(seconds=settings.notify_backoff_s * 2 ** (attempts - 1)), MAX_BACKOFF)
        outbox.attempt_failed(d.event, d.channel, error, now, now + delay)
    return attempted


class DeliveryWorker(threading.Thread):
    """Delivers the outbox in the background until `stop` is set."""

    def __init__(
        self,
        settings: Settings,
        open_outbox: Callable[[], NotificationOutbox],
        stop: threading.Event,
        *,
        on_failed: Callable[[Delivery, str], None] | None = None,
        poll_s: float = 0.5,
        post: Post = http_post,
    ) -> None:
        """Deliver from the outbox `open_outbox` opens (in this thread) every `poll_s`."""
        super().__init__(name="lotsen-notify", daemon=True)
        self._settings = settings
        self._open = open_outbox
        self._stop_event = stop
        self._on_failed = on_failed
        self._poll_s = poll_s
        self._post = post

    def run(self) -> None:
        """Deliver until stopped; an unexpected error is logged, never raised."""
        outbox = self._open()
        try:
            while not self._stop_event.is_set():
                try:
                    deliver_due(self._settings, outbox, post=self._post, on_failed=self._on_failed)
                except Exception:
                    logger.exception("notification delivery failed; retrying")
                self._stop_event.wait(self._poll_s)
        finally:
            outbox.close()


def _models(models: list[str]) -> str:
    return ", ".join(models[:3]) + (f" +{len(models) - 3}" if len(models) > 3 else "")


def _escape(text: str) -> str:
    """Slack mrkdwn control characters (text from telemetry is data, never markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _error_line(exc: BaseException) -> str:
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from the receiver"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
