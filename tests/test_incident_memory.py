from pathlib import Path

from memory.incident_memory import IncidentMemory


def test_similar_incidents_are_found_offline_and_persist(tmp_path: Path) -> None:
    memory = IncidentMemory(tmp_path / "chroma")
    memory.remember(
        "inc-1",
        "data_quality",
        "null spike in f07 of pipeline risk-features-02, 40 models",
        "fixed upstream",
    )
    memory.remember(
        "inc-2", "bad_deploy", "auc dropped right after the deploy of fraud-0007 v4", "rolled back"
    )
    found = memory.similar("null spike in f07 of pipeline risk-features-02 again, 38 models", k=2)
    assert found[0].id == "inc-1" and found[0].outcome == "fixed upstream"
    reopened = IncidentMemory(tmp_path / "chroma")
    runbook = reopened.similar(
        "performance dropped right after a deploy, roll back the champion", k=1
    )[0]
    assert runbook.id in {"inc-2", "runbook:bad_deploy.md"}
    assert (
        reopened.similar("upstream schema change, do not retrain", k=1)[0].id
        == "runbook:data_quality.md"
    )


def test_memory_over_an_openai_compatible_embeddings_endpoint(
    tmp_path: Path, closed_port: int
) -> None:
    from llm.doubles import ScriptedOpenAIServer, ServerProfile
    from memory.embedding import OpenAIEmbedding

    with ScriptedOpenAIServer(profile=ServerProfile(models=["bge-small"])) as server:
        memory = IncidentMemory(tmp_path / "chroma", OpenAIEmbedding(server.base_url, "bge-small"))
        memory.remember(
            "inc-9", "concept_drift", "auc of churn-0001 fell without input drift", "retrained"
        )
        found = memory.similar("auc of churn-0001 fell without input drift again", k=1)
        assert found[0].id == "inc-9"
        assert any(r.get("model") == "bge-small" and "input" in r for r in server.requests)
    # endpoint down: memory is evidence only, so it answers nothing instead of failing
    down = IncidentMemory(
        tmp_path / "chroma", OpenAIEmbedding(f"http://127.0.0.1:{closed_port}/v1", "bge-small")
    )
    assert down.similar("anything", k=2) == []
    down.remember("inc-10", "bad_deploy", "text", "rolled back")  # skipped, no exception
