"""Tier-0 answers to "how do I ..." about Lotsen itself: the command or setting to use."""

from agents.assistant.context import FleetView
from agents.assistant.intent import Intent, Reply
from agents.assistant.query import Query

_HOW = r"^(how (do|can|should|would) (i|we|you)|how to|where (do|can) i|what'?s the command)\b"
_ANSWERS: dict[str, tuple[str, str]] = {
    "approve": (
        r"\b(approve|reject|decide|sign[- ]off)",
        "`lotsen approvals list`, then `lotsen approvals approve ID --as NAME` (or `reject "
        "... --note WHY`), or the web console's Approvals page with the approver role. The "
        "proposer cannot approve their own request (four eyes); the exact action runs once, "
        "after a fresh gate review, and is audited.",
    ),
    "mlflow": (
        r"\bmlflow\b|\bregistry\b",
        "Set `LOTSEN_MLFLOW_URI` to your tracking server (e.g. `http://mlflow:5000`) and use "
        "Lotsen without `lotsen fleet init`: your models are read as they are. `lotsen models "
        "lint` shows which tags of the contract each model lacks (README: Connect your "
        "systems).",
    ),
    "kubernetes": (
        r"\bkubernetes\b|\bk8s\b|\bcluster\b",
        "`LOTSEN_CLUSTER=kubernetes` with a kubeconfig, in-cluster config, or "
        "`LOTSEN_KUBE_API_URL` + `LOTSEN_KUBE_TOKEN` (RBAC: deploy/kubernetes/rbac.yaml); every "
        "write is sent with dryRun=All first.",
    ),
    "llm": (
        r"\bllm\b|\bvllm\b|\bmodel tiers?\b|\btiers?\b",
        "Set `LOTSEN_LLM_TIERS` (JSON list) or `LOTSEN_LLM_TIERS_FILE` (YAML) with each tier's "
        "OpenAI-compatible `base_url` and `model`, then `lotsen llm check`. Without a tier every "
        "agent answers through its deterministic core (tier 0).",
    ),
    "telemetry": (
        r"\btelemetry\b|\bingest\b|\bwindows?\b|\breference\b",
        "`lotsen telemetry reference MODEL ref.parquet` once per model version, then `lotsen "
        "telemetry ingest` each window of rows (Parquet or CSV); `lotsen scan` scans the "
        "newest windows.",
    ),
    "scan": (
        r"\bscan\b|\bmonitor\b|\bdrift\b",
        "`lotsen scan` scans every model's newest window (`--model NAME` for one); `lotsen "
        "remediate` acts on the incidents through the compliance gate; `lotsen run-loop` does "
        "both on a schedule.",
    ),
}


def _topic(query: Query) -> str | None:
    return next((k for k, (pattern, _) in _ANSWERS.items() if query.has(pattern)), None)


def howto(view: FleetView, query: Query) -> Reply:
    """The command or setting for a question about using Lotsen."""
    topic = _topic(query)
    assert topic is not None
    return Reply(text=_ANSWERS[topic][1], facts={"howto": topic})


HOWTO = Intent(
    "howto",
    "How do I approve a request?",
    lambda q: q.has(_HOW) and _topic(q) is not None,
    howto,
)
"""Tried before change verbs: "how do I approve ..." asks how, it proposes nothing."""
