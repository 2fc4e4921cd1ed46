"""The operating loop: the leader ticks, the other replicas wait for the lease.

`OperatingLoop(settings).run(stop)` is what `lotsen run-loop` runs and what `lotsen serve`
can run in a background thread: it waits for the leader lease, then ticks every
`LOTSEN_LOOP_TICK_S` seconds (the schedule itself follows the world's clock, virtual on the
twin) until `stop` is set, while a delivery thread posts queued notifications. Each tick
opens the world afresh and closes it afterwards, so a re-seed or restore (which takes the
data dir exclusive) waits at most one tick. `run_once()` does one tick as leader.
"""

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from lotsen.loop.jobs import (
    TickReport,
    audit_failed_deliveries,
    daily_capacity_report,
    expire_approvals,
    notify_pending,
    rescan_compliance,
    scan_and_remediate,
)
from lotsen.loop.lease import Lease, holder_id, lease_for
from lotsen.loop.notify import DeliveryWorker, Notifier, Post, deliver_due, http_post
from memory import loop_state, notifications
from memory.loop_state import LoopState
from memory.notifications import NotificationOutbox
from tools.errors import ConflictError, LotsenError
from world.settings import Settings
from world.world import World

logger = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def loop_state_path(settings: Settings) -> Path:
    """`<data_dir>/state/loop.db`: scan times, cursors, ticks."""
    return settings.data_dir / "state" / loop_state.FILE


def outbox_path(settings: Settings) -> Path:
    """`<data_dir>/state/notifications.db`: the notification outbox."""
    return settings.data_dir / "state" / notifications.FILE


class OperatingLoop:
    """Scheduled scans, remediation, compliance, capacity and notifications, one leader."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        lease: Lease | None = None,
        post: Post = http_post,
    ) -> None:
        """Prepare; nothing is opened or locked yet.

        Args:
            settings: The settings every tick opens the world from.
            clock: Overrides the world's clock (tests).
            lease: Overrides the leader lease (default: `lease_for(settings)`).
            post: How a notification is sent (default: an HTTP POST of JSON).
        """
        self.settings = settings
        self.lease = lease if lease is not None else lease_for(settings)
        self.holder = holder_id()
        self._clock = clock
        self._post = post
        self._new_term = True

    def run(self, stop: threading.Event) -> None:
        """Act as leader whenever the lease can be had, until `stop` is set."""
        try:
            while not stop.is_set():
                if self.lease.acquire():
                    self._lead(stop)
                else:
                    stop.wait(self.settings.loop_lease_poll_s)
        finally:
            self.lease.release()

    def run_once(self) -> TickReport:
        """One tick as leader, attempting due notifications once each (no delivery thread).

        Raises:
            ConflictError: another replica holds the lease.
        """
        held_before = self.lease.held()
        if not held_before and not self.lease.acquire():
            raise ConflictError(
                f"another operating loop is the leader ({self.lease.describe()}); "
                "this one would act beside it"
            )
        try:
            return self.tick(deliver=True)
        finally:
            if not held_before:
                self.lease.release()

    def tick(self, *, deliver: bool = False) -> TickReport:
        """Everything that is due now (the caller holds the lease).

        Args:
            deliver: Also attempt due notifications here, once each (no delivery thread).
        """
        with World(self.settings, clock=self._clock) as world:
            actor = world.user(self.settings.loop_user)
            state = LoopState(loop_state_path(self.settings))
            outbox = NotificationOutbox(outbox_path(self.settings))
            try:
                report = TickReport(at=world.clock())
                self._still_leader()
                if self._new_term:
                    world.audit.append(
                        "loop_leader",
                        actor=actor,
                        data={"holder": self.holder, "lease": self.lease.describe()},
                    )
                notifier = Notifier(self.settings, outbox)
                report.expired = expire_approvals(world, actor)
                self._still_leader()
                scan_and_remediate(world, state, notifier, report, resume_first=self._new_term)
                self._new_term = False
                self._still_leader()
                report.compliance_failures = rescan_compliance(world, state, actor)
                report.capacity_report = daily_capacity_report(world, actor, report.at)
                report.notifications_queued += notify_pending(world, notifier)
                if deliver:
                    deliver_due(self.settings, outbox, post=self._post)
                audit_failed_deliveries(world, outbox, actor)
                state.record_tick(self.holder, datetime.now(UTC), world.clock(), report.summary())
            finally:
                outbox.close()
                state.close()
        return report

    def _still_leader(self) -> None:
        """Stop the tick between steps once the lease is lost (e.g. its database went).

        Raises:
            ConflictError: the lease is no longer held; another replica may lead now.
        """
        if not self.lease.held():
            raise ConflictError(
                f"{self.holder} lost the leader lease ({self.lease.describe()}); "
                "the tick stops here and another replica takes over"
            )

    def _lead(self, stop: threading.Event) -> None:
        """Tick until stopped or the lease is lost; deliver notifications meanwhile."""
        logger.info("%s leads the operating loop (%s)", self.holder, self.lease.describe())
        self._new_term = True
        delivery_stop = threading.Event()
        worker = DeliveryWorker(
            self.settings,
            lambda: NotificationOutbox(outbox_path(self.settings)),
            delivery_stop,
            post=self._post,
        )
        worker.start()
        try:
            while not stop.is_set() and self.lease.held():
                try:
                    report = self.tick()
                    logger.info("tick: %s", report.summary())
                except LotsenError as exc:
                    logger.error("tick failed: %s", exc)  # noqa: TRY400 (one line, no trace)
                except Exception:
                    logger.exception("tick failed")
                stop.wait(self.settings.loop_tick_s)
        finally:
            delivery_stop.set()
            worker.join(timeout=self.settings.notify_timeout_s + 5)
            if not self.lease.held():
                logger.warning("%s lost the leader lease", self.holder)


def start_in_thread(settings: Settings) -> tuple[threading.Event, threading.Thread]:
    """Run the loop in a daemon thread (e.g. beside the HTTP server); set the event to stop.

    Each tick opens its own World, so the server's World (and its lock) is never shared
    with the loop's thread.
    """
    stop = threading.Event()
    thread = threading.Thread(
        target=OperatingLoop(settings).run, args=(stop,), name="lotsen-loop", daemon=True
    )
    thread.start()
    return stop, thread
