"""The tool runner's rules, one boundary at a time: step and repeat limits (default and
set), the mutation gate, argument parsing and validation messages, tool failures, and the
output cap as the runner applies it. Fast: the tools here are plain functions, no world."""

import dataclasses
import json
import logging
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from tools.errors import NotFoundError
from tools.runtime import RunLimits, ToolResult, ToolRunner, ToolSpec, tool
from tools.runtime.runner import DenyAllMutations


class Nested(BaseModel):
    depth: int


class Args(BaseModel):
    name: str = "a"
    labels: dict[str, int] = {}
    since: datetime | None = None


class Four(BaseModel):
    a: int
    b: int
    c: int
    d: int
    inner: Nested | None = None


@tool()
def echo(context: list[str], args: Args) -> ToolResult:
    """Record the call in the context and return the arguments."""
    context.append(args.name)
    return ToolResult.ok(args.model_dump(mode="json"))


@tool()
def other(context: list[str], args: Args) -> ToolResult:
    """A second tool with the same arguments."""
    context.append("other")
    return ToolResult.ok(args.name)


@tool()
def four(context: list[str], args: Four) -> ToolResult:
    """Needs four numbers."""
    return ToolResult.ok(args.a)


@tool()
def text(context: list[str], args: Nested) -> ToolResult:
    """A string result whose JSON envelope is `depth` characters long."""
    envelope = len(ToolResult.ok("").model_dump_json())
    return ToolResult.ok("x" * (args.depth - envelope))


@tool(mutating=True)
def scale(context: list[str], args: Nested) -> ToolResult:
    """Changes the world."""
    context.append(f"scaled to {args.depth}")
    return ToolResult.ok(args.depth)


@tool()
def broken(context: list[str], args: Nested) -> ToolResult:
    """A tool with a bug."""
    raise ZeroDivisionError("oops")


@tool()
def refuses(context: list[str], args: Nested) -> ToolResult:
    """A tool that raises a user-facing error."""
    raise NotFoundError(f"no model {args.depth}")


TOOLS = [echo, other, four, text, scale, broken, refuses]


def _runner(limits: RunLimits | None = None, **kwargs: object) -> tuple[ToolRunner, list[str]]:
    calls: list[str] = []
    if limits is None:
        return ToolRunner(TOOLS, calls, **kwargs), calls  # type: ignore[arg-type]
    return ToolRunner(TOOLS, calls, limits=limits, **kwargs), calls  # type: ignore[arg-type]


# --- step limit ---------------------------------------------------------------------------


def test_the_default_step_limit_allows_eight_calls_and_refuses_the_ninth() -> None:
    runner, calls = _runner()
    results = [runner.call("echo", {"name": str(i)}) for i in range(9)]
    assert [r.status for r in results] == ["ok"] * 8 + ["error"]
    assert results[8].error == ("step limit of 8 tool calls reached; answer with what you have")
    assert calls == [str(i) for i in range(8)], "the ninth call did not run"
    assert runner.steps == 9


def test_a_set_step_limit_is_exact() -> None:
    runner, calls = _runner(RunLimits(max_steps=3))
    assert [runner.call("echo", {"name": str(i)}).status for i in range(4)] == [
        "ok",
        "ok",
        "ok",
        "error",
    ]
    assert calls == ["0", "1", "2"]


def test_failed_calls_count_as_steps() -> None:
    runner, calls = _runner(RunLimits(max_steps=2))
    assert runner.call("nope", {}).status == "error"
    assert runner.call("echo", "not json").status == "error"
    assert runner.call("echo", {}).error == (
        "step limit of 2 tool calls reached; answer with what you have"
    )
    assert calls == []


# --- repeat limit -------------------------------------------------------------------------


def test_the_default_repeat_limit_allows_two_identical_calls() -> None:
    runner, calls = _runner()
    results = [runner.call("echo", {"name": "same"}) for _ in range(3)]
    assert [r.status for r in results] == ["ok", "ok", "error"]
    assert results[2].error == (
        "echo was already called 2 times with these arguments; use the earlier result"
    )
    assert calls == ["same", "same"]


def test_a_set_repeat_limit_is_exact_and_counts_per_tool_and_arguments() -> None:
    runner, calls = _runner(RunLimits(max_repeats=1))
    assert runner.call("echo", {"name": "x"}).status == "ok"
    assert runner.call("other", {"name": "x"}).status == "ok", "another tool, same arguments"
    assert runner.call("echo", {"name": "y"}).status == "ok", "same tool, other arguments"
    again = runner.call("echo", '{"name": "x"}')
    assert again.error == (
        "echo was already called 1 times with these arguments; use the earlier result"
    )
    assert calls == ["x", "other", "y"]


def test_identical_arguments_are_identical_whatever_their_key_order() -> None:
    runner, calls = _runner(RunLimits(max_repeats=1))
    assert runner.call("echo", {"labels": {"a": 1, "b": 2}}).status == "ok"
    repeat = runner.call("echo", {"labels": {"b": 2, "a": 1}})
    assert repeat.status == "error" and "already called 1 times" in (repeat.error or "")
    assert calls == ["a"]


def test_arguments_that_are_not_plain_json_are_compared_by_their_json_form() -> None:
    runner, _ = _runner(RunLimits(max_repeats=1))
    since = {"since": "2026-01-02T03:04:05Z"}
    first = runner.call("echo", since)
    assert first.status == "ok" and isinstance(first.data, dict)
    assert datetime.fromisoformat(str(first.data["since"])) == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    assert runner.call("echo", since).status == "error"


# --- unknown tools and arguments ----------------------------------------------------------


def test_an_unknown_tool_is_named_with_the_available_ones() -> None:
    runner, _ = _runner()
    assert runner.call("drop_table", {}).error == (
        "unknown tool 'drop_table'; available: echo, other, four, text, scale, broken, refuses"
    )


@pytest.mark.parametrize("raw", [None, "", {}, "{}"])
def test_no_arguments_mean_the_defaults(raw: str | dict[str, object] | None) -> None:
    runner, calls = _runner()
    result = runner.call("echo", raw)
    assert result.status == "ok" and result.data == {"name": "a", "labels": {}, "since": None}
    assert calls == ["a"]


def test_arguments_given_as_a_json_string_are_parsed() -> None:
    runner, calls = _runner()
    assert runner.call("echo", '{"name": "b"}').status == "ok"
    assert calls == ["b"]


def test_malformed_json_says_where() -> None:
    runner, calls = _runner()
    assert runner.call("echo", '{"name": "b"').error == (
        "bad arguments for echo: Expecting ',' delimiter: line 1 column 13 (char 12)"
    )
    assert calls == []


def test_json_that_is_not_an_object_is_refused_by_type() -> None:
    runner, _ = _runner()
    assert runner.call("echo", "[1, 2]").error == (
        "bad arguments for echo: arguments must be a JSON object, got list"
    )
    assert runner.call("echo", "3").error == (
        "bad arguments for echo: arguments must be a JSON object, got int"
    )


def test_validation_errors_name_the_first_three_fields_with_their_path() -> None:
    runner, _ = _runner()
    assert runner.call("four", {"inner": {"depth": "deep"}}).error == (
        "bad arguments for four: a: Field required; b: Field required; c: Field required"
    )
    assert runner.call("four", {"a": 1, "b": 2, "c": 3, "d": 4, "inner": {}}).error == (
        "bad arguments for four: inner.depth: Field required"
    )


# --- the mutation gate --------------------------------------------------------------------


def test_the_default_gate_refuses_every_mutation_and_says_how_to_propose_it() -> None:
    runner, calls = _runner()
    refused = runner.call("scale", {"depth": 0})
    assert refused.status == "error"
    assert refused.error == (
        "scale changes the cluster or registry; it is not executed from chat. "
        "Propose it as an action: it needs the compliance gate and approval"
    )
    assert calls == []


class _Gate:
    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.reviewed: list[tuple[str, BaseModel]] = []

    def review(self, spec: ToolSpec, args: BaseModel) -> str | None:
        self.reviewed.append((spec.name, args))
        return self.answer


def test_the_gates_reason_is_the_error_and_the_mutation_does_not_run() -> None:
    gate = _Gate("frozen during the incident")
    runner, calls = _runner(gate=gate)
    assert runner.call("scale", {"depth": 2}) == ToolResult.fail("frozen during the incident")
    assert calls == []
    assert gate.reviewed == [("scale", Nested(depth=2))]


def test_an_allowing_gate_runs_the_mutation_and_read_only_tools_skip_the_gate() -> None:
    gate = _Gate(None)
    runner, calls = _runner(gate=gate)
    assert runner.call("scale", {"depth": 2}) == ToolResult.ok(2)
    assert runner.call("echo", {"name": "r"}).status == "ok"
    assert calls == ["scaled to 2", "r"]
    assert [name for name, _ in gate.reviewed] == ["scale"]


def test_the_default_gate_is_deny_all() -> None:
    runner, _ = _runner()
    assert isinstance(runner.gate, DenyAllMutations)


# --- tool failures ------------------------------------------------------------------------


def test_a_tool_bug_is_an_error_result_and_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner, _ = _runner()
    with caplog.at_level(logging.ERROR, logger="tools.runtime.runner"):
        result = runner.call("broken", {"depth": 1})
    assert result == ToolResult.fail("broken failed: ZeroDivisionError: oops")
    [record] = caplog.records
    assert record.getMessage() == "tool broken failed"
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.exc_info[0] is ZeroDivisionError


def test_a_lotsen_error_is_passed_on_as_is() -> None:
    runner, _ = _runner()
    assert runner.call("refuses", {"depth": 7}) == ToolResult.fail("no model 7")


# --- the output cap, as the runner applies it ---------------------------------------------


def test_the_default_output_cap_is_six_thousand_characters() -> None:
    runner, _ = _runner()
    fits = runner.call("text", {"depth": 6000})
    assert fits.note is None and len(fits.model_dump_json()) == 6000
    over = runner.call("text", {"depth": 6001})
    assert over.note == "truncated: output was too long"
    assert over.data == json.dumps("x" * (6001 - len(ToolResult.ok("").model_dump_json())))[:5800]


def test_a_set_output_cap_is_applied() -> None:
    runner, _ = _runner(RunLimits(max_output_chars=500))
    assert runner.call("text", {"depth": 500}).note is None
    capped = runner.call("text", {"depth": 501})
    assert capped.note == "truncated: output was too long"
    assert isinstance(capped.data, str) and len(capped.data) == 300


# --- the runner itself --------------------------------------------------------------------


def test_tools_given_once_as_an_iterator_are_all_kept() -> None:
    runner = ToolRunner(iter([echo, other]), [])
    assert runner.schemas() == [echo.openai_schema(), other.openai_schema()]
    assert [s["function"]["name"] for s in runner.schemas()] == ["echo", "other"]
    assert runner.call("other", {}).status == "ok"


def test_limits_cannot_be_changed_during_a_run() -> None:
    limits = RunLimits()
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_steps = 100  # type: ignore[misc]
    assert (limits.max_steps, limits.max_repeats, limits.max_output_chars) == (8, 2, 6000)
