"""Policy files: what a policy says (id, rationale, scope, check) and loading them."""

from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.errors import ConfigError
from tools.yamlfile import load_yaml_model


class Severity(StrEnum):
    """How bad a failure is."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Scope(StrEnum):
    """What a policy is checked on, one subject at a time."""

    MODEL = "model"
    NAMESPACE = "namespace"
    DEPLOYMENT = "deployment"
    POOL = "pool"
    GPU = "gpu"
    ENVIRONMENT = "environment"


SELECTORS: dict[Scope, frozenset[str]] = {
    Scope.MODEL: frozenset({"env", "ai_act_risk", "owner"}),
    Scope.NAMESPACE: frozenset({"env", "owner"}),
    Scope.DEPLOYMENT: frozenset({"env", "namespace"}),
    Scope.POOL: frozenset({"env"}),
    Scope.GPU: frozenset({"env"}),
    Scope.ENVIRONMENT: frozenset({"env"}),
}
"""Subject attributes a policy's `when` may select on."""


class Policy(BaseModel):
    """One policy: documented in YAML, checked by a named Python function."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)

    id: str = Field(pattern=r"^[A-Z]{2,5}-\d{2,3}$")
    """Stable id, e.g. `SEG-01`."""
    title: str = Field(min_length=3)
    rationale: str = Field(min_length=3)
    """Why the rule exists, for the auditor."""
    reference: str = Field(min_length=3)
    """Regulation article or standard it implements."""
    severity: Severity
    scope: Scope
    when: dict[str, list[str]] = Field(default_factory=dict)
    """Only subjects whose attribute is one of the listed values (e.g. ai_act_risk: [high])."""
    check: str
    """Name of the registered Python check (see tools/policy/checks)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Thresholds and settings handed to the check."""

    @model_validator(mode="after")
    def _selectors_known(self) -> "Policy":
        unknown = set(self.when) - SELECTORS[self.scope]
        if unknown:
            allowed = ", ".join(sorted(SELECTORS[self.scope]))
            raise ValueError(
                f"`when` keys {sorted(unknown)} do not apply to scope {self.scope.value}; "
                f"use {allowed}"
            )
        return self


class PolicyFile(BaseModel):
    """One YAML file of policies."""

    model_config = ConfigDict(extra="forbid")

    policies: list[Policy] = Field(min_length=1)


def builtin_policy_files() -> list[Path]:
    """The policy files shipped with Lotsen."""
    folder = resources.files("tools.policy") / "builtin"
    return sorted(Path(str(folder)).glob("*.yaml"))


def load_policies(extra: list[Path] | None = None, *, builtin: bool = True) -> list[Policy]:
    """The shipped policies plus the user's files (a directory means its *.yaml files).

    A user policy with a shipped id replaces it (e.g. to tighten a threshold).

    Raises:
        ConfigError: a file is unreadable or invalid (file, line and field named), an id is
            defined twice in one set of files, or a check name is unknown.
    """
    from tools.policy.checks import CHECKS

    files = builtin_policy_files() if builtin else []
    user: list[Path] = []
    for path in extra or []:
        user += sorted(path.glob("*.yaml")) if path.is_dir() else [path]
    by_id: dict[str, Policy] = {}
    for group in (files, user):
        seen: dict[str, Path] = {}
        for path in group:
            for policy in load_yaml_model(path, PolicyFile).policies:
                if policy.id in seen:
                    raise ConfigError(
                        f"{path}: policy {policy.id} is also defined in {seen[policy.id]}"
                    )
                if policy.check not in CHECKS:
                    known = ", ".join(sorted(CHECKS))
                    raise ConfigError(
                        f"{path}: policy {policy.id}: unknown check {policy.check!r}; "
                        f"known: {known}"
                    )
                seen[policy.id] = path
                by_id[policy.id] = policy
    return sorted(by_id.values(), key=lambda p: p.id)
