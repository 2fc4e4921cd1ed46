"""`lotsen serve`: the HTTP API and web console (uvicorn), on the process's one World."""

from typing import Annotated

import typer

from lotsen.cli.context import console, settings_of


def serve_cmd(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8080,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    loop: Annotated[
        bool,
        typer.Option(
            "--loop/--no-loop",
            help="Also run the operating loop in a background thread (as `lotsen run-loop`: "
            "one leader among all replicas).",
        ),
    ] = False,
) -> None:
    """Serve the API (/api/v1, OpenAPI at /docs), the web console, /healthz and /metrics."""
    import uvicorn

    from lotsen.service.app import create_app

    settings = settings_of(ctx)
    app = create_app(settings)
    scheme = "http"
    console.print(f"Lotsen serving on {scheme}://{host}:{port}/ (API docs: /docs)")
    if not settings.serve_insecure_cookies and host in ("127.0.0.1", "localhost"):
        console.print(
            "Session cookies are Secure: browsers send them over https only. For plain-HTTP "
            "localhost set LOTSEN_SERVE_INSECURE_COOKIES=1."
        )
    if not loop:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    from lotsen.loop.runner import start_in_thread

    stop, thread = start_in_thread(settings)
    console.print("Operating loop started (it acts while it holds the leader lease).")
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        stop.set()  # a tick cut short by the exit is re-run safely by the next leader
        thread.join(timeout=30)
