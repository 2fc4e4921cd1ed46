"""`make serve`: the demo world served on localhost, with one demo user per role.

Runs the CLI demo first when no world is seeded (so there are incidents and a remediation
waiting for approval), creates the demo users once (passwords are random and printed only
then), and serves plain HTTP on 127.0.0.1 (cookies without `Secure`: localhost only).
"""

import argparse
import secrets

from memory.users import Role, UserDirectory
from world.settings import Settings

DEMO_USERS: tuple[tuple[str, Role], ...] = (
    ("admin", "admin"),
    ("approver", "approver"),
    ("operator", "operator"),
    ("viewer", "viewer"),
)
"""Console logins of the demo (name, role)."""
CLI_DEMO_USERS: tuple[tuple[str, Role], ...] = (
    ("demo-operator", "operator"),
    ("demo-reviewer", "approver"),
)
"""The names `lotsen demo` acts as: listed (without passwords) so it keeps working."""


def ensure_demo_users(directory: UserDirectory) -> list[tuple[str, Role, str]]:
    """Create the demo users if the users file has none; their (name, role, password)."""
    if directory.configured:
        return []
    created = []
    for name, role in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        directory.put(name, [role], password)
        created.append((name, role, password))
    for name, role in CLI_DEMO_USERS:
        directory.put(name, [role])
    return created


def main(argv: list[str] | None = None) -> None:
    """Seed and run the demo if needed, create the demo users, serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)

    import uvicorn

    from lotsen.cli.context import console, load_settings
    from lotsen.cli.demo import run_demo
    from lotsen.service.app import create_app
    from world.world import USERS_FILE

    settings: Settings = load_settings(serve_insecure_cookies=True)
    path = settings.users_file or settings.data_dir / "state" / USERS_FILE
    if not (settings.data_dir / "world").exists():
        run_demo(settings)
    created = ensure_demo_users(UserDirectory(path))
    address = f"http://{args.host}:{args.port}/"
    console.rule("Lotsen web console and API")
    console.print(f"Console: {address}  (API: {address}api/v1, OpenAPI: {address}docs)")
    if created:
        console.print("Demo logins (shown once; an admin resets one with `lotsen users add`):")
        for name, role, password in created:
            console.print(f"  {name:<9} {role:<9} password: {password}")
    else:
        console.print(f"Log in with a user of {path} (`lotsen users list`).")
    console.print(
        "API token: `lotsen users token NAME`; then LOTSEN_SERVER_URL="
        f"{address.rstrip('/')} LOTSEN_SERVER_TOKEN=... lotsen approvals list"
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
