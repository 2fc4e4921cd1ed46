"""The tag contract: the registered-model tags Lotsen reads, their values, what they drive.

A registry Lotsen did not seed holds whatever its users tagged. Values are read leniently
(usual synonyms, any case); a missing or unrecognised value never crashes a command and is
never replaced by a permissive guess: env and risk become unknown (None), which the
compliance gate treats as the strictest value, and `lotsen models lint` reports it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tools.domain import AiActRisk, ChangePlan, Environment, ModelTask, RegisteredModel

OWNER, ENV, PIPELINE, TASK, RISK, FEATURES, CHANGE_PLAN = (
    "owner",
    "env",
    "pipeline",
    "task",
    "ai_act_risk",
    "features",
    "change_plan",
)

UNKNOWN = "unknown"
"""How a missing or unrecognised value is shown (and the owner of a model without one)."""

ENV_SYNONYMS: dict[str, Environment] = {
    **dict.fromkeys(("prod", "production", "prd", "live"), Environment.PROD),
    **dict.fromkeys(("test", "testing", "staging", "stage", "stg", "qa"), Environment.TEST),
    **dict.fromkeys(("dev", "development", "develop", "sandbox"), Environment.DEV),
}
"""Accepted env values (lower-cased) and the environment each means."""

RISK_SYNONYMS: dict[str, AiActRisk] = {
    **dict.fromkeys(("high", "high-risk", "high_risk", "highrisk"), AiActRisk.HIGH),
    **dict.fromkeys(("limited", "limited-risk", "limited_risk"), AiActRisk.LIMITED),
    **dict.fromkeys(("minimal", "minimal-risk", "minimal_risk", "low"), AiActRisk.MINIMAL),
}
"""Accepted ai_act_risk values (lower-cased). `unacceptable` (a prohibited practice, Art. 5)
is not one: Lotsen does not operate such models, so it stays unknown and is treated as high."""


@dataclass(frozen=True)
class ContractTag:
    """One tag of the contract, as documented in the README."""

    key: str
    values: str
    """What the tag may hold."""
    drives: str
    """What Lotsen uses it for."""
    when_missing: str
    """What happens when it is missing or its value is not understood."""


CONTRACT: tuple[ContractTag, ...] = (
    ContractTag(
        OWNER,
        "team name",
        "serving/training namespace `<owner>-<env>`, who is asked, assistant answers",
        "owner shown as `unknown`; retraining has no namespace to run in",
    ),
    ContractTag(
        ENV,
        "prod/production/prd, test/testing/staging/stage/qa, dev/development/sandbox",
        "compliance gate (prod: every change needs a human), policy scope, fleet status",
        "unknown: treated as prod, every change needs a human",
    ),
    ContractTag(
        PIPELINE,
        "feature pipeline name",
        "data incidents (which upstream team is told), drift grouping",
        "drift cannot be traced to a pipeline; incidents name no owner",
    ),
    ContractTag(
        TASK,
        "classification, regression, forecast",
        "the primary metric (AUC, RMSE, MAPE) of telemetry and retraining",
        "classification assumed; lint reports it",
    ),
    ContractTag(
        RISK,
        "high, limited, minimal (also `high-risk`, `low`)",
        "AIA-01..08 policies, gate (high: every change needs a human)",
        "unknown: treated as high-risk, every change needs a human",
    ),
    ContractTag(
        FEATURES,
        "comma-separated feature names",
        "which columns a reference and the drift scan cover",
        "every column of the reference file is taken as a feature",
    ),
    ContractTag(
        CHANGE_PLAN,
        "JSON: allowed change kinds, max metric drop, reference",
        "AIA-07: which retrains stay within the plan",
        "high-risk: only same-feature retrains are within plan",
    ),
)
"""The tag contract, in README order."""

REQUIRED = (OWNER, ENV, PIPELINE, TASK, RISK, FEATURES)
"""Tags every model should carry (`lotsen models lint` reports their absence)."""


def parse_env(raw: str | None) -> Environment | None:
    """The environment a tag value names; None when missing or not understood."""
    return ENV_SYNONYMS.get(raw.strip().lower()) if raw is not None else None


def parse_risk(raw: str | None) -> AiActRisk | None:
    """The AI Act risk class a tag value names; None when missing or not understood."""
    return RISK_SYNONYMS.get(raw.strip().lower()) if raw is not None else None


def parse_task(raw: str | None) -> ModelTask | None:
    """The task a tag value names; None when missing or not understood."""
    try:
        return ModelTask(raw.strip().lower()) if raw is not None else None
    except ValueError:
        return None


def parse_change_plan(raw: str | None) -> ChangePlan | None:
    """The change plan a tag holds (JSON); None when missing or not readable."""
    if not raw:
        return None
    try:
        return ChangePlan.model_validate_json(raw)
    except ValueError:
        return None


def env_label(env: Environment | None) -> str:
    """How an environment is shown: its value, or `unknown`."""
    return env.value if env is not None else UNKNOWN


def risk_label(risk: AiActRisk | None) -> str:
    """How a risk class is shown: its value, or `unknown`."""
    return risk.value if risk is not None else UNKNOWN


def strictest_env(env: Environment | None) -> Environment:
    """The environment the rules assume: an unknown env is prod."""
    return env if env is not None else Environment.PROD


def strictest_risk(risk: AiActRisk | None) -> AiActRisk:
    """The risk class the rules assume: an unknown risk is high."""
    return risk if risk is not None else AiActRisk.HIGH


def unknown_reason(key: str, stored: dict[str, str], assumed: str) -> str:
    """Why a rule assumed a value: `env tag missing: treated as prod`."""
    if key in stored:
        return f"{key} tag {stored[key]!r} not understood: treated as {assumed}"
    return f"{key} tag missing: treated as {assumed}"


@dataclass(frozen=True)
class TagProblem:
    """One way a model falls short of the tag contract."""

    model: str
    key: str
    """The tag (or `name` for a name clash)."""
    problem: str
    """What is wrong: `missing`, or `'staging2' not understood`."""
    effect: str
    """What Lotsen does because of it."""

    def __str__(self) -> str:
        """`env missing: every change needs a human (treated as prod)`."""
        return f"{self.key} {self.problem}: {self.effect}"


_EFFECTS = {
    OWNER: "no team to ask and no namespace to serve or retrain in",
    ENV: "every change needs a human (treated as prod)",
    PIPELINE: "drift cannot be traced to a pipeline; data incidents name no owner",
    TASK: "the primary metric is guessed (classification: AUC)",
    RISK: "every change needs a human; high-risk duties apply (treated as high)",
    FEATURES: "a reference takes every column of its file as a feature",
    CHANGE_PLAN: "no change plan: for a high-risk model only same-feature retrains pass",
}


def contract_problems(model: RegisteredModel) -> list[TagProblem]:
    """What of the tag contract a model lacks or holds with a value Lotsen cannot read."""
    stored = {**model.contract_tags, **model.tags}
    readers: dict[str, Callable[[str], Any]] = {
        OWNER: lambda raw: raw.strip() or None,
        ENV: parse_env,
        PIPELINE: lambda raw: raw.strip() or None,
        TASK: parse_task,
        RISK: parse_risk,
        FEATURES: lambda raw: [f for f in raw.split(",") if f.strip()] or None,
        CHANGE_PLAN: parse_change_plan,
    }
    problems = []
    for key, read in readers.items():
        raw = stored.get(key)
        if raw is None:
            if key in REQUIRED:
                problems.append(TagProblem(model.name, key, "missing", _EFFECTS[key]))
        elif read(raw) is None:
            shown = raw if len(raw) <= 40 else raw[:37] + "..."
            problems.append(TagProblem(model.name, key, f"{shown!r} not understood", _EFFECTS[key]))
    return problems


def lint_models(models: list[RegisteredModel]) -> list[TagProblem]:
    """Every model's contract problems, plus names that differ only in case."""
    problems = [p for m in sorted(models, key=lambda m: m.name) for p in contract_problems(m)]
    by_folded: dict[str, list[str]] = {}
    for m in models:
        by_folded.setdefault(m.name.casefold(), []).append(m.name)
    for names in by_folded.values():
        for name in sorted(names) if len(names) > 1 else ():
            others = ", ".join(n for n in sorted(names) if n != name)
            problems.append(
                TagProblem(
                    name,
                    "name",
                    f"differs from {others} only in case",
                    "people, the assistant and case-insensitive backends may act on the "
                    "wrong model",
                )
            )
    return problems
