"""A model team's training script, as Lotsen's local and Kubernetes trainers run it.

Reads the request from the environment Lotsen sets (`LOTSEN_MODEL`, `LOTSEN_RUN_TAG_KEY`,
`LOTSEN_RUN_TAG`, `MLFLOW_TRACKING_URI`) and its data from `TRAIN_DATA` (a CSV with a
`label` column), trains a logistic regression, logs it with `mlflow.sklearn` (scored by its
probabilities through pyfunc) in a run tagged with the run tag, and registers it as a new
version of the model. `TRAIN_EXPERIMENT` names the MLflow experiment; `VALIDATED_IN=test`
records that the team's pipeline validated the version in test (prod promotions need it).
"""

import os

import mlflow
import mlflow.sklearn
import pandas as pd
from sklearn.linear_model import LogisticRegression


def main() -> None:
    """Train on TRAIN_DATA, log the model in a tagged run, register a version."""
    model = os.environ["LOTSEN_MODEL"]
    frame = pd.read_csv(os.environ["TRAIN_DATA"])
    x, y = frame.drop(columns=["label"]), frame["label"]
    mlflow.set_experiment(os.environ["TRAIN_EXPERIMENT"])
    with mlflow.start_run(tags={os.environ["LOTSEN_RUN_TAG_KEY"]: os.environ["LOTSEN_RUN_TAG"]}):
        fitted = LogisticRegression().fit(x, y)
        mlflow.log_metric("train_rows", len(frame))
        info = mlflow.sklearn.log_model(
            fitted,
            name="model",
            pip_requirements=["scikit-learn"],
            pyfunc_predict_fn="predict_proba",
            registered_model_name=model,
        )
    # the team's data checks passed on this window: recorded on the version it registered
    version = info.registered_model_version
    client = mlflow.MlflowClient()
    client.set_model_version_tag(model, version, "lotsen.data_checks", "passed")
    if os.environ.get("VALIDATED_IN"):  # the pipeline validated it there before prod
        client.set_model_version_tag(
            model, version, "lineage.promoted_from", os.environ["VALIDATED_IN"]
        )


if __name__ == "__main__":
    main()
