"""The one place that reads configuration: `LOTSEN_*` environment variables."""

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from llm.tiers import LlmTier
from tools.capacity.energy import DEFAULT_GPU_HOUR_PRICE
from tools.domain import Environment, GpuType

MLFLOW_SCHEMES = frozenset({"http", "https", "file", "sqlite", "postgresql", "mysql", "databricks"})
"""What LOTSEN_MLFLOW_URI may start with: a tracking server, a local store, a database."""
Price = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Duration = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class Settings(BaseSettings):
    """Lotsen's settings. Build once (`Settings()`) in the app shell and pass it down."""

    model_config = SettingsConfigDict(
        env_prefix="LOTSEN_", extra="ignore", use_attribute_docstrings=True
    )

    data_dir: Path = Path(".lotsen")
    """Where the embedded world lives (registry, twin, histories)."""
    audit_key_file: Path | None = None
    """Key that signs the audit log, kept outside the data dir (created on first use, mode
    0600; back it up); unset = `$XDG_CONFIG_HOME/lotsen/audit.key`, else
    `~/.config/lotsen/audit.key`. The head's witnesses go to `witness/` next to it."""
    mlflow_uri: str | None = None
    """MLflow tracking server URL; unset = MLflow on a SQLite file in the data dir."""
    cluster: Literal["sim", "kubernetes"] = "sim"
    """`sim` = the embedded digital twin; `kubernetes` = a live cluster."""
    kube_api_url: str | None = None
    """Kubernetes API server URL; unset = kubeconfig or in-cluster config."""
    kube_token: SecretStr | None = None
    """Bearer token for `kube_api_url`."""
    kube_context: str | None = None
    """kubeconfig context to use."""
    kube_verify_tls: bool = True
    """Verify the API server's certificate."""
    trainer_image: str = Field(default="ghcr.io/lotsen/trainer:latest")
    """Container image of jobs submitted without a model's own (not retraining: see trainers)."""
    trainer: Literal["synthetic", "local", "kubernetes"] | None = None
    """How retraining runs when a model's trainer config names no kind: `kubernetes` (its
    training image as a Job), `local` (its training command here), `synthetic` (demo only);
    unset = synthetic on the embedded demo world, none with LOTSEN_MLFLOW_URI."""
    trainers_file: Path | None = None
    """YAML mapping model names/globs to training image/command/env and held-out window."""
    trainer_timeout_hours: Duration = 6.0
    """Longest wait for a training job; past it the retrain is a recorded failure."""
    llm_tiers: list[LlmTier] = Field(default_factory=list)
    """OpenAI-compatible endpoints, cheapest first, as JSON; empty = tier 0 only."""
    llm_tiers_file: Path | None = None
    """YAML file with a list of tiers (used when LOTSEN_LLM_TIERS is empty)."""
    checkpoint_url: SecretStr | None = None
    """PostgreSQL URL for workflow checkpoints (extra `postgres`); unset = SQLite in the world."""
    embeddings_url: str | None = None
    """OpenAI-compatible embeddings endpoint for incident memory; unset = offline hashing."""
    embeddings_model: str = "text-embedding"
    embeddings_api_key: SecretStr | None = None
    user: str | None = None
    """Who runs the command (proposer / approver); default: the OS user. Normalised
    (case-folded); with a users file it must be a listed user with the needed role."""
    users_file: Path | None = None
    """Users and their roles (`lotsen users add`); unset = `<data_dir>/state/users.yaml`."""
    approval_ttl_hours: Duration = 24.0
    """How long an approval request stays open."""
    policy_files: list[Path] = Field(default_factory=list)
    """Extra compliance policy files or folders of *.yaml, as JSON, e.g. '["./policies"]';
    a policy with a shipped id replaces the shipped one."""
    vllm_bin: Path = Path(".venv-vllm/bin/vllm")
    """The `vllm` executable of vLLM's own environment (`make vllm-env`)."""
    gpu_hour_price: dict[GpuType, Price] = Field(
        default_factory=lambda: dict(DEFAULT_GPU_HOUR_PRICE)
    )
    """Price of one whole GPU-hour per GPU type, as JSON, e.g. '{"H100-80GB": 2.5}'
    (capacity planner; any currency)."""
    carbon_curve_file: Path | None = None
    """YAML with the grid's carbon intensity, 24 gCO2e/kWh values for hours 0-23 UTC;
    unset = the shipped default curve."""
    scale_to_zero_days: Duration = 7.0
    """A deployment with no request for this many days is a scale-to-zero candidate."""
    retrain_deadline_hours: Duration = 24.0
    """A queued retraining job without its own deadline must finish this soon."""
    server_url: str | None = None
    """A Lotsen server (`lotsen serve`) the CLI acts through (`ask`, `approvals`), as the
    user of `server_token`; unset = the CLI works on the embedded world."""
    server_token: SecretStr | None = None
    """API token for `server_url` (`lotsen users token NAME` on the server's host)."""
    serve_session_hours: Duration = 8.0
    """How long a web console login lasts (`lotsen serve`)."""
    serve_insecure_cookies: bool = False
    """Send the session cookie without `Secure` (plain-HTTP localhost only, e.g. the demo)."""
    serve_trusted_header: str | None = None
    """Header carrying the user name set by an OIDC proxy (e.g. `X-Forwarded-User`);
    unset = off. Honoured only from `serve_trusted_proxies`; the user must be listed."""
    serve_trusted_proxies: list[str] = Field(default_factory=list)
    """Addresses of the proxies whose trusted header is believed, as JSON."""
    serve_login_attempts: int = Field(default=5, ge=1, le=1000)
    """Failed logins per user name or client address per 5 minutes before 429."""
    lock_wait_s: float = Field(default=30.0, ge=0, le=3600)
    """How long a command waits for another one holding the data dir (re-seed, backup,
    restore) or a store's lock before it gives up naming the holder."""
    loop_tick_s: Duration = 60.0
    """Wall-clock seconds between two ticks of the operating loop (`lotsen run-loop`)."""
    loop_lease_poll_s: Duration = 5.0
    """How often a waiting replica tries to take the loop's leader lease."""
    loop_user: str = "lotsen-loop"
    """Who the loop proposes as (with a users file: a listed operator)."""
    loop_scan_every_hours: dict[Environment, Duration] = Field(
        default_factory=lambda: {
            Environment.PROD: 6.0,
            Environment.TEST: 24.0,
            Environment.DEV: 24.0,
        }
    )
    """Scheduled scan interval per model class (env tag; untagged counts as prod), as JSON;
    watched models are scanned at their raised frequency (world clock)."""
    console_url: str | None = None
    """Base URL of the web console, for links in notifications (`<url>/approvals/<id>`): the
    server's address followed by `/console`, e.g. `https://lotsen.example.org/console`."""
    notify_webhook_url: SecretStr | None = None
    """Generic JSON webhook that gets new incidents and approval requests; unset = off."""
    notify_slack_url: SecretStr | None = None
    """Slack incoming-webhook URL for the same events; unset = off."""
    notify_attempts: int = Field(default=6, ge=1, le=50)
    """Attempts per delivery before it is recorded as failed."""
    notify_backoff_s: Duration = 2.0
    """First retry delay; doubled per attempt, capped at 15 minutes."""
    notify_timeout_s: Duration = 5.0
    """Timeout of one delivery attempt."""

    @field_validator("mlflow_uri")
    @classmethod
    def _mlflow_scheme(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = urlsplit(value).scheme.split("+")[0]
        if scheme not in MLFLOW_SCHEMES:
            known = ", ".join(sorted(MLFLOW_SCHEMES))
            raise ValueError(f"unsupported scheme {scheme or '(none)'!r}; use one of {known}")
        return value

    @field_validator("kube_api_url", "embeddings_url", "console_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and (
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc
        ):
            raise ValueError("must be an http:// or https:// URL")
        return value
