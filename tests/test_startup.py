"""Start-up cost: `lotsen --help` and a tier-0 `lotsen ask` import no heavy library.

Each check runs a fresh interpreter (imports already made by this test process would hide
a regression) and lists the heavy top-level packages loaded by the end.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.cli import init_data_dir, run_lotsen

HEAVY = (
    "mlflow",
    "scipy",
    "sklearn",
    "chromadb",
    "langchain",
    "langchain_core",
    "langchain_openai",
    "langgraph",
    "langsmith",
    "pandas",
    "duckdb",
    "kubernetes",
    "openai",
    "sqlalchemy",
)

pytestmark = pytest.mark.slow
"""Packages that cost tenths of a second to seconds to import."""
REPO = Path(__file__).resolve().parents[1]


def heavy_after(code: str, *, prelude: str = "") -> tuple[list[str], str]:
    """Heavy packages loaded by `prelude` + `code` in a fresh interpreter, and its output."""
    script = (
        textwrap.dedent(prelude)
        + "\n"
        + textwrap.dedent(code)
        + textwrap.dedent(f"""
        import json, sys
        print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))))
        """)
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert done.returncode == 0, done.stderr
    *output, last = done.stdout.strip().splitlines()
    loaded: list[str] = json.loads(last)
    return loaded, "\n".join(output)


HELP = """
    from lotsen.cli.main import app
    try:
        app(["--help"], prog_name="lotsen")
    except SystemExit:
        pass
"""


def test_help_imports_no_heavy_library() -> None:
    loaded, output = heavy_after(HELP)
    assert loaded == [] and "approvals" in output


def test_shell_completion_imports_no_heavy_library() -> None:
    completion = """
        import os
        os.environ.update(_LOTSEN_COMPLETE="complete_bash", COMP_CWORD="1")
        os.environ["COMP_WORDS"] = "lotsen appr"
    """
    assert heavy_after(HELP, prelude=completion) == ([], "approvals")


def test_the_check_sees_a_cli_module_that_imports_mlflow_at_top_level() -> None:
    """Plant `import mlflow` at the top of one CLI module: the check above must fail."""
    planted = """
        import importlib.util, sys
        spec = importlib.util.find_spec("lotsen.cli.models")
        module = importlib.util.module_from_spec(spec)
        source = "import mlflow\\n" + open(spec.origin, encoding="utf-8").read()
        sys.modules["lotsen.cli.models"] = module
        exec(compile(source, spec.origin, "exec"), module.__dict__)
    """
    assert "mlflow" in heavy_after(HELP, prelude=planted)[0]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-model world with telemetry (for `lotsen scan`)."""
    data = init_data_dir(tmp_path_factory.mktemp("startup") / "data", models=6, seed=4)
    simulate = ["--data-dir", str(data), "telemetry", "simulate", "--rows", "500"]
    subprocess.run([sys.executable, "-m", "lotsen.cli", *simulate], check=True, cwd=REPO)
    return data


@pytest.mark.slow
def test_a_tier0_question_imports_no_heavy_library(seeded: Path) -> None:
    """Registry reads come from MLflow's SQLite file directly; no LLM tier: no LangChain."""
    ask = f"""
        import sys
        from lotsen.cli.main import main
        sys.argv = ["lotsen", "--data-dir", {str(seeded)!r}, "ask", "Which models serve in prod?"]
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, exc.code
    """
    loaded, output = heavy_after(ask)
    assert loaded == [] and "tier tier0" in output


@pytest.mark.slow
def test_bench_startup_times_every_command_against_the_baseline(
    seeded: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_lotsen(
        capsys, monkeypatch, "--data-dir", str(seeded), "bench", "startup", "--runs", "1", "--json"
    )
    assert code == 0, err
    result = json.loads(out)
    labels = [c["label"] for c in result["commands"]]
    assert labels[0] == "lotsen --help" and labels[2:] == ["lotsen scan", "lotsen approvals list"]
    assert labels[1].startswith('lotsen ask "Who owns ') and result["models"] == 6
    for timing in [result["baseline"], *result["commands"]]:
        assert len(timing["wall_s"]) == len(timing["cpu_s"]) == 1
        assert timing["wall_s"][0] > 0
