"""Console view models and the server-drawn histograms (no browser, no server)."""

from pathlib import Path

from lotsen.service.console.svg import Histogram, bin_labels, histogram_svg, shares, trimmed
from lotsen.service.console.views.approvals import describe, may_decide, view
from memory.approvals import ApprovalRequest
from tools.policy.action import ActionKind, ProposedAction
from tools.telemetry.binning import SLOTS


def test_numeric_labels_follow_the_binning_layout() -> None:
    labels = bin_labels([0.0, 1.0, 2.0], [], SLOTS)
    assert len(labels) == SLOTS
    assert labels[0] == "<0" and labels[1] == "0..1" and labels[2] == "1..2"
    assert labels[-1] == ">2" and labels[3] == "unused"


def test_categorical_labels_end_with_other() -> None:
    labels = bin_labels([], ["a", "b"], SLOTS)
    assert labels[:2] == ["a", "b"] and labels[-1] == "other" and len(labels) == SLOTS


def test_trimmed_drops_slots_empty_on_both_sides() -> None:
    h = Histogram(feature="f", labels=["x", "y", "z"], reference=[1, 0, 0], current=[0, 0, 2])
    t = trimmed(h)
    assert t.labels == ["x", "z"] and t.reference == [1, 0] and t.current == [0, 2]


def test_histogram_svg_draws_one_bar_per_slot_and_side_scaled_to_shares() -> None:
    h = Histogram(feature="age<script>", labels=["a", "b"], reference=[3, 1], current=[1, 3])
    svg = histogram_svg(h)
    assert svg.count("<rect") == 4 + 2  # 2 slots x 2 sides, plus the legend's two swatches
    assert "age&lt;script&gt;" in svg and "<script>" not in svg
    assert "reference 75.0%" in svg and "current 25.0%" in svg
    assert shares([0, 0]) == [0.0, 0.0]


def _request(proposer: str = "bob", status: str = "pending") -> ApprovalRequest:
    from datetime import UTC, datetime

    now = datetime(2026, 1, 1, tzinfo=UTC)
    action = ProposedAction(
        kind=ActionKind.SCALE,
        proposer=proposer,
        namespace="ns",
        deployment="d",
        replicas=0,
        detail="idle for 9 days",
    )
    return ApprovalRequest.model_validate(
        {
            "id": "apr-1",
            "key": "k",
            "agent": "assistant",
            "action": "chat scale",
            "actions": [action],
            "models": ["m"],
            "reasons": ["[SEG-01] prod needs a human"],
            "verdict": "needs_approval",
            "proposer": proposer,
            "created_at": now,
            "expires_at": now,
            "status": status,
        }
    )


def test_describe_says_what_the_action_does() -> None:
    assert describe(_request().actions[0]) == "scale ns/d to 0 replica(s): idle for 9 days"


def test_who_may_decide_mirrors_the_queue_rules() -> None:
    assert may_decide(_request(), "alice", is_approver=True) == ""
    assert "only approvers" in may_decide(_request(), "oscar", is_approver=False)
    assert "you proposed" in may_decide(_request(), " BOB ", is_approver=True)
    assert "already approved" in may_decide(_request(status="approved"), "alice", True)
    v = view(_request(), "bob", is_approver=True)
    assert not v.can_decide and v.does == [describe(v.request.actions[0])]


def test_eval_runs_list_is_empty_without_runs(tmp_path: Path) -> None:
    from lotsen.service.console.views.evals import run_rows

    assert run_rows(tmp_path) == []
