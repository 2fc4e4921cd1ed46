"""`make serve`'s demo users: one per role, passwords printed once, never replaced."""

from pathlib import Path

from lotsen.service.demo import DEMO_USERS, ensure_demo_users
from memory.users import UserDirectory


def test_demo_users_are_created_once(tmp_path: Path) -> None:
    path = tmp_path / "users.yaml"
    created = ensure_demo_users(UserDirectory(path))
    assert [(n, r) for n, r, _ in created] == list(DEMO_USERS)
    directory = UserDirectory(path)
    for name, role, password in created:
        user = directory.get(name)
        assert user is not None and user.roles == [role] and user.check_password(password)
        assert password not in path.read_text()
    assert ensure_demo_users(UserDirectory(path)) == []
    again = UserDirectory(path).get("admin")
    assert again is not None and again.check_password(created[0][2])
