"""Identity: one normalised name per person, and (with a users file) only listed users act,
each within their roles."""

import json
import shutil
from pathlib import Path

import pytest
import yaml

from memory.users import UserDirectory, normalise
from tests.support.cli import Run, run_lotsen
from tools.errors import ConfigError
from world.settings import Settings
from world.world import World


@pytest.fixture
def data(full_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A world with a remediation retrain waiting for approval, proposed by `bob`."""
    copy = tmp_path / "data"
    shutil.copytree(full_world, copy, symlinks=True)
    monkeypatch.setenv("LOTSEN_DATA_DIR", str(copy))
    return copy


def _lotsen(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str) -> Run:
    return run_lotsen(capsys, monkeypatch, *args)


@pytest.mark.parametrize(
    "spelling", ["Bob", " bob ", "BOB", "\uff42\uff4f\uff42"]
)  # fullwidth letters
def test_one_person_however_the_name_is_typed(spelling: str) -> None:
    assert normalise(spelling) == "bob"


@pytest.mark.parametrize("bad", ["", "  ", "alice bob", "-x", "a/b", "x" * 65])
def test_a_name_that_is_not_a_login_is_refused(bad: str) -> None:
    with pytest.raises(ConfigError, match="not a valid user name"):
        normalise(bad)


def test_the_proposer_cannot_approve_under_another_spelling(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [request] = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    assert request["proposer"] == "bob"
    for spelling in ("Bob", " BOB "):
        code, _, err = _lotsen(
            capsys, monkeypatch, "approvals", "approve", request["id"], "--as", spelling
        )
        assert code == 2 and "four-eyes" in err, err
    after = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    assert after[0]["status"] == "pending"


def test_with_a_users_file_only_listed_users_act_within_their_roles(
    data: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [request] = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    code, _, err = _lotsen(capsys, monkeypatch, "users", "add", "carol", "--role", "viewer")
    assert code == 2 and "first user must have --role admin" in err
    assert _lotsen(capsys, monkeypatch, "users", "add", "Alice", "--role", "admin")[0] == 0
    for name, role in (("carol", "viewer"), ("dave", "operator"), ("erin", "approver")):
        code, _, err = _lotsen(
            capsys, monkeypatch, "users", "add", name, "--role", role, "--as", "ALICE"
        )
        assert code == 0, err
    code, _, err = _lotsen(
        capsys, monkeypatch, "users", "add", "mallory", "--role", "admin", "--as", "dave"
    )
    assert code == 2 and "may not act as admin" in err

    for who, expected in (("mallory", "unknown user"), ("carol", "may not act as approver")):
        code, _, err = _lotsen(
            capsys, monkeypatch, "approvals", "approve", request["id"], "--as", who
        )
        assert code == 2 and expected in err, err
    pending = json.loads(_lotsen(capsys, monkeypatch, "approvals", "list", "--json")[1])
    assert pending[0]["status"] == "pending", "a refused identity changed the queue"

    code, _, err = _lotsen(capsys, monkeypatch, "remediate", "--auto", "--as", "carol")
    assert code == 2 and "may not act as operator" in err

    code, _, err = _lotsen(
        capsys, monkeypatch, "approvals", "approve", request["id"], "--as", "Erin"
    )
    assert code == 0, err
    with World(Settings(data_dir=data)) as world:
        assert world.approvals.get(request["id"]).decided_by == "erin"
        kinds = [r.kind for r in world.audit.records()]
    assert kinds.count("user_added") == 4


def test_passwords_are_stored_as_bcrypt_hashes(tmp_path: Path) -> None:
    directory = UserDirectory(tmp_path / "users.yaml")
    directory.put("alice", ["admin"], password="correct horse")
    stored = (tmp_path / "users.yaml").read_text()
    assert "correct horse" not in stored and "$2b$" in stored
    reread = UserDirectory(tmp_path / "users.yaml").get("ALICE")
    assert reread is not None
    assert reread.check_password("correct horse") and not reread.check_password("wrong horse")
    assert (tmp_path / "users.yaml").stat().st_mode & 0o077 == 0


def test_a_malformed_users_file_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump({"users": [{"name": "alice", "roles": ["root"]}]}))
    with pytest.raises(ConfigError, match="not a valid users file"):
        UserDirectory(path)
