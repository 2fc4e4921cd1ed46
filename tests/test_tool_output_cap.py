"""The tool runner's output cap: exact boundaries, what is kept, and what the note says."""

import json

from tools.runtime.envelope import ToolResult
from tools.runtime.runner import cap_output


def test_a_result_that_fits_exactly_is_unchanged_and_one_char_less_is_capped() -> None:
    result = ToolResult.ok(["x" * 10] * 5)
    size = len(result.model_dump_json())
    assert cap_output(result, size) == result
    capped = cap_output(result, size - 1)
    assert capped != result and capped.note is not None


def test_a_long_list_keeps_the_leading_items_that_fit_and_says_how_many() -> None:
    items = [f"item-{i:04d}" for i in range(500)]
    capped = cap_output(ToolResult.ok(items), 1000)
    kept = capped.data
    assert isinstance(kept, list) and kept == items[: len(kept)] and kept
    assert len(json.dumps(kept)) <= 800  # 200 characters stay free for the envelope
    assert len(json.dumps(items[: len(kept) + 1])) > 800  # the next item would not fit
    assert capped.note == f"truncated: showing {len(kept)} of 500 items; narrow the query for more"
    assert capped.status == "ok"


def test_long_data_that_is_not_a_list_is_cut_to_text_with_a_note() -> None:
    data = {"k": "v" * 5000}
    capped = cap_output(ToolResult.ok(data), 1000)
    assert capped.data == json.dumps(data)[:800]
    assert capped.note == "truncated: output was too long"


def test_a_list_item_that_fills_the_room_exactly_is_kept() -> None:
    first = "a" * 796  # json.dumps([first]) is exactly 800 characters: it fits
    assert len(json.dumps([first])) == 800
    capped = cap_output(ToolResult.ok([first, "b" * 300]), 1000)
    assert capped.data == [first]
    assert capped.note == "truncated: showing 1 of 2 items; narrow the query for more"


def test_the_list_stops_at_the_first_item_that_does_not_fit() -> None:
    data = ["a" * 10, "b" * 1000, "c" * 10]  # "c..." would fit after "a...", but not in order
    capped = cap_output(ToolResult.ok(data), 1000)
    assert capped.data == ["a" * 10]
    assert capped.note == "truncated: showing 1 of 3 items; narrow the query for more"


def test_a_capped_result_keeps_its_status_and_error_fields() -> None:
    result = ToolResult(status="no_data", data="z" * 2000, note="nothing new")
    capped = cap_output(result, 1000)
    assert (capped.status, capped.error) == ("no_data", None)
    assert capped.data == json.dumps("z" * 2000)[:800]
