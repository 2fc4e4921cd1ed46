"""Notifications: queued once, posted to a real local receiver, retried with bounded backoff,
a delivery that runs out of attempts recorded as failed, the loop never waiting on it."""

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lotsen.loop.notify import DeliveryWorker, Notifier, deliver_due
from memory.approvals import ApprovalRequest
from memory.notifications import NotificationOutbox
from tools.drift.incidents import Incident
from world.settings import Settings

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


class Receiver:
    """A local webhook receiver that answers 500 to its first `fail_first` requests."""

    def __init__(self, fail_first: int = 0, hang: threading.Event | None = None) -> None:
        self.fail_first = fail_first
        self.hang = hang
        self.bodies: list[tuple[str, dict[str, Any]]] = []
        self.answered_ok = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.bodies.append((self.path, body))
                if receiver.hang is not None:
                    receiver.hang.wait()
                    return
                failing = len(receiver.bodies) <= receiver.fail_first
                if not failing:
                    receiver.answered_ok += 1
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self.hang is not None:
            self.hang.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[NotificationOutbox]:
    box = NotificationOutbox(tmp_path / "state" / "notifications.db")
    yield box
    box.close()


def settings(tmp_path: Path, url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "notify_webhook_url": f"{url}/hook",
        "notify_slack_url": f"{url}/slack",
        "console_url": "https://lotsen.example.org/",
        "notify_backoff_s": 1.0,
        "notify_timeout_s": 2.0,
    }
    return Settings.model_validate({**values, **extra})


def incident() -> Incident:
    return Incident(
        id="inc-0123456789",
        kind="data_quality",
        probable_cause="null spike in <feature> tenure from pipeline crm",
        pipeline="crm",
        models=["churn-0001", "churn-0002", "churn-0003", "churn-0004"],
        features=["tenure"],
        window_start=T0,
    )


def request() -> ApprovalRequest:
    return ApprovalRequest.model_validate(
        {
            "id": "apr-00aa11bb22",
            "key": "k",
            "agent": "remediation",
            "action": "retrain",
            "actions": [],
            "models": ["pd-0001"],
            "reasons": ["high-risk model: a human approves"],
            "verdict": "needs_approval",
            "proposer": "lotsen-loop",
            "incident_id": "inc-0123456789",
            "handle": "thread",
            "created_at": T0,
            "expires_at": T0 + timedelta(hours=24),
            "status": "pending",
        }
    )


class FakeClock:
    """Wall-clock time that moves only when the test moves it (starts after the queueing)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


def test_both_formats_carry_the_console_link_and_are_queued_once(
    tmp_path: Path, outbox: NotificationOutbox
) -> None:
    receiver = Receiver()
    try:
        s = settings(tmp_path, receiver.url)
        notifier = Notifier(s, outbox)
        assert notifier.incident(incident(), T0) == 2
        assert notifier.approval(request(), T0) == 2
        assert notifier.incident(incident(), T0) == 0  # a re-run tick queues nothing again
        assert receiver.bodies == []  # queueing posts nothing: the loop never waits on it
        assert deliver_due(s, outbox) == 4
        assert deliver_due(s, outbox) == 0
    finally:
        receiver.close()
    posted = {
        (path, body.get("event", "slack"), body.get("id")): body for path, body in receiver.bodies
    }
    hook = posted[("/hook", "approval.requested", "apr-00aa11bb22")]
    assert hook["url"] == "https://lotsen.example.org/approvals/apr-00aa11bb22"
    assert hook["data"]["reasons"] == ["high-risk model: a human approves"]
    assert "token" not in json.dumps(hook).lower()  # the link carries no authority
    slack = [b for p, b in receiver.bodies if p == "/slack"]
    assert len(slack) == 2
    approval = next(b for b in slack if "apr-00aa11bb22" in b["text"])
    assert set(approval) == {"text", "blocks"}
    button = approval["blocks"][-1]["elements"][0]
    assert button["url"] == "https://lotsen.example.org/approvals/apr-00aa11bb22"
    assert "login required" in button["text"]["text"]
    mrkdwn = next(b for b in slack if "inc-0123456789" in b["text"])["blocks"][1]["text"]["text"]
    assert "&lt;feature&gt;" in mrkdwn and "<feature>" not in mrkdwn  # data, not markup
    assert [d.status for d in outbox.deliveries()] == ["delivered"] * 4


def test_a_failing_receiver_is_retried_with_growing_backoff_until_it_answers(
    tmp_path: Path, outbox: NotificationOutbox
) -> None:
    receiver = Receiver(fail_first=3)
    clock = FakeClock()
    try:
        s = settings(tmp_path, receiver.url, notify_slack_url=None)
        Notifier(s, outbox).incident(incident(), T0)
        waits = []
        while (found := outbox.deliveries())[0].status == "pending":
            deliver_due(s, outbox, clock=clock)
            pending = outbox.deliveries()[0]
            if pending.status == "pending":
                waits.append(pending.next_at - clock.now)
                assert deliver_due(s, outbox, clock=clock) == 0  # not due before its time
                clock.now = pending.next_at
    finally:
        receiver.close()
    assert waits == [timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=4)]
    assert len(receiver.bodies) == 4 and receiver.answered_ok == 1
    assert found[0].status == "delivered" and found[0].attempts == 4


def test_a_delivery_out_of_attempts_is_recorded_as_failed(
    tmp_path: Path, outbox: NotificationOutbox
) -> None:
    receiver = Receiver(fail_first=100)
    clock = FakeClock()
    failed: list[str] = []
    try:
        s = settings(tmp_path, receiver.url, notify_slack_url=None, notify_attempts=3)
        Notifier(s, outbox).approval(request(), T0)
        for _ in range(10):
            deliver_due(s, outbox, clock=clock, on_failed=lambda d, error: failed.append(error))
            clock.now += timedelta(hours=1)
    finally:
        receiver.close()
    assert len(receiver.bodies) == 3  # bounded
    (record,) = outbox.deliveries("failed")
    assert record.attempts == 3 and record.last_error == "HTTP 500 from the receiver"
    assert failed == ["HTTP 500 from the receiver"]


def test_a_hanging_receiver_times_out_in_the_worker_thread(
    tmp_path: Path, outbox: NotificationOutbox
) -> None:
    receiver = Receiver(hang=threading.Event())
    stop = threading.Event()
    s = settings(tmp_path, receiver.url, notify_slack_url=None, notify_timeout_s=0.2)
    path = tmp_path / "state" / "notifications.db"
    worker = DeliveryWorker(s, lambda: NotificationOutbox(path), stop, poll_s=0.05)
    worker.start()
    try:
        Notifier(s, outbox).incident(incident(), T0)  # returns at once: the worker posts
        while not outbox.deliveries()[0].last_error:
            stop.wait(0.05)
    finally:
        stop.set()
        worker.join()
        receiver.close()
    (record,) = outbox.deliveries()
    assert record.status == "pending" and record.attempts == 1  # retried later
    assert record.last_error == "ReadTimeout: timed out"
