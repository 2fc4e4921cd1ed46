"""Finding the version a training job registered, by its run tag."""

from agents.remediation.trainers.protocol import RUN_TAG, RunTagLookup
from tools.registry import ModelRegistry


def trained_version(
    registry: ModelRegistry, lookup: RunTagLookup | None, model: str, run_tag: str
) -> int | None:
    """The version trained for `run_tag`: tagged on the version, else found by its run.

    A version found by its run is tagged with the run tag too, so the next lookup (a step
    re-run after a crash) is one query. Several versions from runs with the same tag: the
    newest (a job retried after registering).
    """
    for existing in registry.all_versions(model):  # tags only: one query
        if existing.tags.get(RUN_TAG) == run_tag:
            return existing.version
    found = lookup(model, run_tag) if lookup is not None else []
    if not found:
        return None
    version = max(found)
    registry.set_version_tag(model, version, RUN_TAG, run_tag)
    return version


def mlflow_run_tag_lookup(tracking_uri: str) -> RunTagLookup:
    """Search MLflow for runs tagged with the run tag, then the model's versions from them."""

    def lookup(model: str, run_tag: str) -> list[int]:
        from mlflow import MlflowClient
        from mlflow.entities import ViewType

        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        experiments = [
            e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)
        ]
        value = run_tag.replace("'", "\\'")
        runs = client.search_runs(experiments, filter_string=f"tags.`{RUN_TAG}` = '{value}'")
        name = model.replace("'", "\\'")
        versions: list[int] = []
        for run in runs:
            found = client.search_model_versions(
                f"name = '{name}' and run_id = '{run.info.run_id}'"
            )
            versions += [int(v.version) for v in found]
        return versions

    return lookup
