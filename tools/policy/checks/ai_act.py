"""EU AI Act duties of high-risk models (Art. 12 logging, 14 oversight, 72 post-market...)."""

from datetime import date, timedelta
from typing import Any

from tools.domain import ChangeKind, ModelVersion, RegisteredModel
from tools.policy import tags
from tools.policy.checks.registry import check
from tools.policy.durations import DurationError, describe, parse_duration, period_param
from tools.policy.facts import PlatformFacts


def served_versions(model: RegisteredModel, facts: PlatformFacts) -> list[ModelVersion]:
    """The versions behind the model's champion and challenger aliases."""
    found = []
    for alias in ("champion", "challenger"):
        number = model.aliases.get(alias)
        version = facts.version(model.name, number) if number is not None else None
        if version is not None:
            found.append(version)
    return found


@check("inference_logging")
def inference_logging(
    model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """Inference logging is on and logs are kept at least `min_retention` (a period).

    The retention tag may be a number of days, an ISO-8601 duration (P1Y, P6M, PT4380H)
    or a shorthand (`1y`, `6 months`, `183 days`).
    """
    minimum = period_param(params, "min_retention", "P6M")
    problems = []
    if model.tags.get(tags.INFERENCE_LOGGING) != "on":
        problems.append("inference logging is not on")
    raw = model.tags.get(tags.LOG_RETENTION_DAYS, "").strip()
    if not raw:
        problems.append("log retention is not documented")
        return problems
    try:
        kept = parse_duration(raw)
    except DurationError as exc:
        problems.append(f"log retention is not documented: {exc}")
        return problems
    if kept < minimum:
        problems.append(f"logs kept {raw} ({describe(kept)}), less than {describe(minimum)}")
    return problems


@check("named_tag")
def named_tag(model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]) -> list[str]:
    """A documentation tag (`tag`) is present; with `link: true` it must be a URI."""
    key = str(params["tag"])
    value = model.tags.get(key, "").strip()
    if not value:
        return [f"{params.get('what', key)} is missing (tag {key})"]
    if params.get("link") and "://" not in value:
        return [f"{params.get('what', key)} {value!r} is not a link"]
    return []


@check("rollback_tested")
def rollback_tested(
    model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """The stop/rollback path was exercised within `max_age` (a period)."""
    max_age = period_param(params, "max_age", "P1Y")
    raw = model.tags.get(tags.ROLLBACK_TESTED_AT, "")
    try:
        tested = date.fromisoformat(raw)
    except ValueError:
        return ["no tested stop/rollback drill recorded"]
    if timedelta(days=(facts.now.date() - tested).days) > max_age:
        return [f"last rollback drill {tested} is older than {describe(max_age)}"]
    return []


@check("alias_changes_audited")
def alias_changes_audited(
    model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """Every alias points where Lotsen's audited alias history says it last moved it."""
    last = facts.last_alias_targets()
    problems = []
    for alias, version in sorted(model.aliases.items()):
        if (model.name, alias) not in last:
            problems.append(f"@{alias} -> v{version} has no audited history")
        elif last[(model.name, alias)] != version:
            problems.append(
                f"@{alias} is v{version} but the audited history last set "
                f"v{last[(model.name, alias)]}: changed outside Lotsen"
            )
    return problems


@check("approval_before_promotion")
def approval_before_promotion(
    model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """The champion's promotion has a recorded human approval."""
    number = model.aliases.get("champion")
    version = facts.version(model.name, number) if number is not None else None
    if version is None:
        return []
    if not version.tags.get(tags.APPROVAL):
        return [f"champion v{number} was promoted without a recorded approval"]
    return []


@check("change_within_plan")
def change_within_plan(
    model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """Champion and challenger changed only within the pre-determined change plan."""
    if model.change_plan is None:
        return ["no pre-determined change plan documented"]
    allowed = {kind.value for kind in model.change_plan.allowed}
    problems = []
    for version in served_versions(model, facts):
        kind = version.tags.get(tags.CHANGE_KIND)
        if kind and kind not in allowed and not version.tags.get(tags.SIGNOFF):
            known = kind if kind in {k.value for k in ChangeKind} else f"unknown kind {kind!r}"
            problems.append(
                f"v{version.version} is a substantial modification ({known}, outside the "
                "change plan) without sign-off: promotion blocked"
            )
    return problems


@check("training_data_checks")
def training_data_checks(
    model: RegisteredModel, facts: PlatformFacts, params: dict[str, Any]
) -> list[str]:
    """Champion and challenger were trained on data that passed the data checks."""
    return [
        f"v{v.version} training-data checks: {v.tags.get(tags.DATA_CHECKS, 'not recorded')}"
        for v in served_versions(model, facts)
        if v.tags.get(tags.DATA_CHECKS) != "passed"
    ]
