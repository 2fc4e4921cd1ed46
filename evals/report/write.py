"""Writing a run's results.json, report.md and report.html; reading results back."""

from pathlib import Path

from pydantic import ValidationError

from evals.report.html import render_html
from evals.report.markdown import render_markdown
from evals.runner import RunResult
from tools.errors import ConfigError


def write_reports(result: RunResult, out: Path) -> dict[str, Path]:
    """Write the three files into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "results.json",
        "markdown": out / "report.md",
        "html": out / "report.html",
    }
    paths["json"].write_text(result.model_dump_json(indent=1, by_alias=True), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(result), encoding="utf-8")
    paths["html"].write_text(render_html(result), encoding="utf-8")
    return paths


def load_result(path: Path) -> RunResult:
    """A run's results (a results.json file, or the folder that holds one).

    Raises:
        ConfigError: missing or not a Lotsen eval result.
    """
    file = path / "results.json" if path.is_dir() else path
    if not file.exists():
        raise ConfigError(f"{file} does not exist; pass a run folder or its results.json")
    try:
        return RunResult.model_validate_json(file.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "file"
        raise ConfigError(f"{file} is not a Lotsen eval result ({where}: {first['msg']})") from None
