"""The CLI pointed at a server: `ask` and `approvals` act through the API as the token's user."""

import json
from pathlib import Path

import pytest

from tests.support.cli import run_lotsen
from tests.support.service import live_server, served


@pytest.mark.slow
def test_cli_acts_through_the_server_as_the_tokens_user(
    full_world: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with served(full_world, tmp_path / "server") as s, live_server(s.app) as url:
        elsewhere = str(tmp_path / "no-world-here")
        monkeypatch.setenv("LOTSEN_SERVER_URL", url)

        def lotsen(user: str, *args: str) -> tuple[int, str, str]:
            monkeypatch.setenv("LOTSEN_SERVER_TOKEN", s.tokens[user])
            return run_lotsen(capsys, monkeypatch, "--data-dir", elsewhere, *args)

        code, out, err = lotsen("vic", "approvals", "list", "--json")
        assert code == 0, err
        pending = json.loads(out)
        assert [p["proposer"] for p in pending] == ["bob"]
        request_id = pending[0]["id"]

        code, _, err = lotsen("bob", "approvals", "approve", request_id)
        assert code == 2 and "four-eyes" in err
        code, _, err = lotsen("alice", "approvals", "approve", request_id, "--as", "bob")
        assert code == 2 and "--as cannot be used" in err
        code, _, err = lotsen("olga", "approvals", "approve", request_id)
        assert code == 2 and "may not act as approver" in err
        assert s.world.approvals.get(request_id).status == "pending"

        code, out, err = lotsen("alice", "approvals", "reject", request_id, "--note", "later")
        assert code == 0, err
        decided = s.world.approvals.get(request_id)
        assert (decided.status, decided.decided_by, decided.note) == ("rejected", "alice", "later")

        model = s.world.registry.list_models()[0].name
        code, out, err = lotsen("olga", "ask", f"who owns {model}?", "--json")
        assert code == 0, err
        assert model in json.loads(out)["entities"]
        threads = s.client.get("/api/v1/chat/threads", headers=s.auth("olga")).json()
        assert len(threads) == 1, "the question was asked on the server, as olga"
        assert not Path(elsewhere).exists(), "the CLI opened no embedded world"


def test_half_a_server_configuration_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSEN_SERVER_URL", "http://127.0.0.1:9")
    code, _, err = run_lotsen(capsys, monkeypatch, "--data-dir", str(tmp_path), "approvals", "list")
    assert code == 2
    assert "LOTSEN_SERVER_TOKEN" in err and "Traceback" not in err
