"""Keeping secrets out of every message Lotsen writes: errors, logs, ledgers, reports.

An upstream error can echo the API key it was sent (`Incorrect API key provided: sk-...`),
and such text travels on: into the fallback reason an answer shows, the log line, the usage
ledger and `llm check --json`. `redact` is applied where that text is made, and replaces
each configured secret value and anything shaped like a key.
"""

import re
from collections.abc import Iterable

from pydantic import SecretStr

from llm.tiers import LlmTier

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 4
"""Configured secrets shorter than this are not searched for (they would match ordinary
text); the key patterns below still apply."""

_PATTERNS = (
    # OpenAI-style keys, also the masked form some servers echo (sk-abc****wxyz)
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_*-]{8,}"), REDACTED),
    # Authorization headers
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=*-]{8,}"), rf"\1 {REDACTED}"),
    # key: value / key=value for the usual secret names (YAML, JSON, query strings, URLs)
    (
        re.compile(
            r"(?i)((?:api[_-]?key|token|password|passwd|secret|authorization)[\"']?\s*[:=]\s*[\"']?)"
            r"[^\s\"',;&}]+"
        ),
        rf"\1{REDACTED}",
    ),
)


def redact(text: str, secrets: Iterable[str | SecretStr | None] = ()) -> str:
    """`text` with every secret in `secrets` and every key-shaped string replaced."""
    for secret in secrets:
        value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
        if value and len(value) >= MIN_SECRET_LENGTH:
            text = text.replace(value, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def tier_secrets(tier: LlmTier) -> list[str | SecretStr | None]:
    """The secrets a tier's messages must not show."""
    return [tier.api_key]
