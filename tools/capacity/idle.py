"""The one rule for an idle deployment: it holds replicas but served no request for N days.

Fleet status, the capacity planner's scale-to-zero, the assistant's facts and every
catalogue tool ask `is_idle`; N is `CapacityConfig.idle_days` (the `scale_to_zero_days`
setting). A user may ask about another span ("no traffic for 14 days"), never another rule.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta

from tools.domain import Deployment

DAY = timedelta(days=1)


def idle_for(deployment: Deployment, now: datetime) -> timedelta | None:
    """How long the deployment has gone without a request; None when that is unknown.

    Args:
        deployment: The deployment, as the cluster reports it.
        now: The cluster clock.

    Returns:
        `now - last_request_at`, zero while it has traffic now or when the last request
        is in the future (clock skew), None when no last request is recorded.
    """
    if deployment.requests_per_s > 0:
        return timedelta(0)
    if deployment.last_request_at is None:
        return None
    return max(now - deployment.last_request_at, timedelta(0))


def is_idle(deployment: Deployment, now: datetime, idle_days: float) -> bool:
    """Whether a deployment is idle: replicas > 0 and no request for `idle_days` days.

    "Last request" is `Deployment.last_request_at`, the newest request the serving stack
    reported (the twin's traffic; on Kubernetes the `lotsen.io/last-request-at`
    annotation). When it is unknown (never reported, annotation missing) the deployment is
    not provably idle, and so not idle: nothing is scaled to zero on missing data. Traffic
    now (`requests_per_s > 0`) is a request, whatever a stale timestamp says. A deployment
    at 0 replicas holds nothing and is not idle (it is already scaled to zero).

    Args:
        deployment: The deployment, as the cluster reports it.
        now: The cluster clock.
        idle_days: The threshold in days (`CapacityConfig.idle_days`, or a span the user
            asked about); the boundary counts as idle.

    Returns:
        True when the deployment is idle.
    """
    if deployment.replicas <= 0:
        return False
    quiet = idle_for(deployment, now)
    return quiet is not None and quiet >= idle_days * DAY


def idle_deployments(
    deployments: Iterable[Deployment], now: datetime, idle_days: float
) -> list[Deployment]:
    """The deployments `is_idle` says are idle, in the order given."""
    return [d for d in deployments if is_idle(d, now, idle_days)]
