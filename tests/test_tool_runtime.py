import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from tests.support.twin_specs import deployment, mig_request, tiny_spec
from tools.catalog import ALL_TOOLS, READ_ONLY_TOOLS, ToolContext
from tools.cluster.sim import SimCluster
from tools.domain import Environment
from tools.errors import NotFoundError
from tools.registry import MlflowRegistry
from tools.runtime import RunLimits, ToolResult, ToolRunner, ToolSpec, tool

SNAPSHOT = Path(__file__).parent / "snapshots" / "tool_schemas.json"


@pytest.fixture
def ctx(registry: MlflowRegistry, tmp_path: Path) -> ToolContext:
    deps = [
        deployment(
            "churn-0001", "growth-prod", Environment.PROD, mig_request("1g.10gb"), replicas=2
        )
    ]
    return ToolContext(
        registry=registry, cluster=SimCluster.create(tmp_path / "c.db", tiny_spec(deps))
    )


def test_tool_schemas_match_the_snapshot() -> None:
    """A changed docstring or argument shows in review (UPDATE_SNAPSHOTS=1 rewrites)."""
    current = {
        spec.name: {
            **spec.openai_schema(),
            "mutating": spec.mutating,
            "environments": sorted(e.value for e in spec.environments),
        }
        for spec in ALL_TOOLS
    }
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
        pytest.fail(f"rewrote {SNAPSHOT.name}: review the diff, rerun without the variable")
    assert SNAPSHOT.read_text() == text


def test_read_only_calls_return_ok_or_no_data(ctx: ToolContext) -> None:
    runner = ToolRunner(READ_ONLY_TOOLS, ctx)
    result = runner.call("list_deployments", {"env": "prod"})
    assert result.status == "ok" and isinstance(result.data, list)
    row = result.data[0]
    assert isinstance(row, dict) and row["name"] == "churn-0001"
    assert runner.call("list_models", "{}").status == "no_data"
    assert runner.call("list_jobs", None).status == "no_data"


def test_bad_calls_come_back_as_errors_the_model_can_fix(ctx: ToolContext) -> None:
    runner = ToolRunner(READ_ONLY_TOOLS, ctx)
    unknown = runner.call("delete_everything", {})
    assert unknown.status == "error" and "unknown tool 'delete_everything'" in (unknown.error or "")
    malformed = runner.call("list_deployments", '{"env": "prod"')
    assert malformed.status == "error" and "bad arguments" in (malformed.error or "")
    wrong = runner.call("list_deployments", {"env": "staging"})
    assert "env: Input should be 'dev', 'test' or 'prod'" in (wrong.error or "")
    missing = runner.call("get_model", {"name": "nope"})
    assert missing.error == "unknown model 'nope'; `lotsen models list` shows the registered ones"
    not_object = runner.call("get_model", "[1, 2]")
    assert "must be a JSON object" in (not_object.error or "")


def test_repeated_calls_and_step_limit_are_guarded(ctx: ToolContext) -> None:
    runner = ToolRunner(READ_ONLY_TOOLS, ctx, limits=RunLimits(max_steps=4, max_repeats=2))
    assert [runner.call("gpu_usage", {}).status for _ in range(3)] == ["ok", "ok", "error"]
    assert runner.call("namespace_quotas", {}).status == "ok"
    last = runner.call("namespace_quotas", {})
    assert last.status == "error" and "step limit of 4" in (last.error or "")


def test_mutating_tools_never_run_without_the_gate(ctx: ToolContext) -> None:
    runner = ToolRunner(ALL_TOOLS, ctx)
    refused = runner.call(
        "scale_deployment", {"namespace": "growth-prod", "name": "churn-0001", "replicas": 0}
    )
    assert refused.status == "error" and "not executed" in (refused.error or "")
    assert ctx.cluster.deployment("growth-prod", "churn-0001").replicas == 2
    assert (
        runner.call("submit_retrain_job", {"namespace": "growth-test", "model": "m"}).status
        == "error"
    )
    assert ctx.cluster.jobs() == []


def test_an_approving_gate_lets_the_mutation_run(ctx: ToolContext) -> None:
    class Approve:
        def review(self, spec: ToolSpec, args: BaseModel) -> str | None:
            return None

    runner = ToolRunner(ALL_TOOLS, ctx, gate=Approve())
    done = runner.call(
        "scale_deployment", {"namespace": "growth-prod", "name": "churn-0001", "replicas": 1}
    )
    assert done.status == "ok"
    assert ctx.cluster.deployment("growth-prod", "churn-0001").replicas == 1


def test_large_outputs_are_truncated_with_a_note(ctx: ToolContext) -> None:
    class Args(BaseModel):
        count: int

    @tool()
    def numbers(context: object, args: Args) -> ToolResult:
        """Return many rows."""
        return ToolResult.ok([{"i": i, "pad": "x" * 50} for i in range(args.count)])

    runner = ToolRunner([numbers], ctx, limits=RunLimits(max_output_chars=1000))
    result = runner.call("numbers", {"count": 200})
    assert result.note is not None and result.note.startswith("truncated: showing ")
    assert len(result.model_dump_json()) <= 1000
    assert runner.call("numbers", {"count": 3}).note is None


def test_a_crashing_tool_is_an_error_result_not_a_crash(ctx: ToolContext) -> None:
    class Args(BaseModel):
        pass

    @tool()
    def broken(context: object, args: Args) -> ToolResult:
        """Always fails."""
        raise ZeroDivisionError("oops")

    @tool()
    def missing(context: object, args: Args) -> ToolResult:
        """Raises a user-facing error."""
        raise NotFoundError("no such thing")

    runner = ToolRunner([broken, missing], ctx)
    assert runner.call("broken", {}).error == "broken failed: ZeroDivisionError: oops"
    assert runner.call("missing", {}).error == "no such thing"


def test_tool_definitions_need_a_docstring_and_a_model() -> None:
    class Args(BaseModel):
        pass

    def undocumented(context: object, args: Args) -> ToolResult:
        return ToolResult.ok(None)

    with pytest.raises(TypeError, match="needs a docstring"):
        tool()(undocumented)

    def untyped(context: object, args: dict) -> ToolResult:  # type: ignore[type-arg]
        """Doc."""
        return ToolResult.ok(None)

    with pytest.raises(TypeError, match="pydantic model"):
        tool()(untyped)
