"""The mutation report: one file per module under `reports/`, an index in `REPORT.md`.

Equivalent mutants (no test can tell them from the original) are listed in
`equivalent/<module>.toml` (e.g. `equivalent/tools__runtime__runner.toml`) as
`[[mutant]]` tables with `name`, the mutated `line` and `why`; they leave the score's
denominator only while the mutant still makes that change, and the report lists them
with the reason.
"""

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).parent
INDEX = HERE / "REPORT.md"
REPORTS = HERE / "reports"
EQUIVALENT = HERE / "equivalent"
TARGET = 90.0


@dataclass
class Score:
    """One module's mutants by outcome."""

    module: str
    commit: str
    tests: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    survivors: list[str] = field(default_factory=list)
    equivalent: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def killed(self) -> int:
        """Mutants a test failed on (a timeout counts: the mutant did not finish)."""
        return self.counts.get("killed", 0) + self.counts.get("timeout", 0)

    @property
    def total(self) -> int:
        """Mutants with an outcome, less skipped and equivalent ones."""
        counted = sum(n for status, n in self.counts.items() if status != "skipped")
        return counted - len(self.equivalent)

    @property
    def score(self) -> float:
        """Killed share of the mutants that count, in percent."""
        return 100.0 * self.killed / self.total if self.total else 0.0

    def add_survivor(self, diff: str, known: dict[str, tuple[str, str]]) -> None:
        """Record a surviving mutant's diff, as equivalent when `known` says so."""
        name = diff.splitlines()[0].lstrip("# ").split(":")[0].strip() if diff else ""
        line, why = known.get(name, ("", ""))
        if line and any(d[1:].strip() == line.strip() for d in diff.splitlines() if d[:1] == "+"):
            self.equivalent.append((diff, why))
        else:
            self.survivors.append(diff)


def equivalent_mutants() -> dict[str, tuple[str, str]]:
    """Mutant name -> (its mutated line, why no test can kill it)."""
    known: dict[str, tuple[str, str]] = {}
    for path in sorted(EQUIVALENT.glob("*.toml")):
        for entry in tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", []):
            known[entry["name"]] = (entry["line"], entry["why"])
    return known


def report_path(module: str) -> Path:
    """Where one module's report lives."""
    return REPORTS / (module_stem(module) + ".md")


def module_stem(module: str) -> str:
    """`tools/runtime/runner.py` -> `tools__runtime__runner` (report and equivalents files)."""
    return module.replace("/", "__").removesuffix(".py")


def write(score: Score) -> None:
    """Write `score`'s module report and rebuild the index from every module report."""
    REPORTS.mkdir(exist_ok=True)
    report_path(score.module).write_text(_section(score) + "\n", encoding="utf-8")


def write_index(modules: list[str]) -> None:
    """REPORT.md: one line per module from its report's headline, in `modules` order."""
    lines = [
        "# Mutation testing of the safety-critical modules",
        "",
        "Written by `make mutation` (`python -m tests.mutation.run`). A mutant is killed when",
        "a test fails on it (or it times out). Each module's report lists its surviving",
        "mutants with their diff, and the equivalent ones (no test can tell them apart,",
        f"`equivalent/`) with why. Target: {TARGET:.0f}% killed per module.",
        "",
        "| module | killed | score | equivalent | minutes | commit |",
        "|---|---|---|---|---|---|",
    ]
    for module in modules:
        path = report_path(module)
        found = _HEADLINE.search(path.read_text(encoding="utf-8")) if path.exists() else None
        if found is None:
            lines.append(f"| `{module}` | not run | | | | |")
            continue
        link = path.relative_to(HERE).as_posix()
        lines.append(
            f"| [`{module}`]({link}) | {found['killed']} of {found['total']} | "
            f"{found['score']}% | {found['equivalent']} | {found['minutes']} | "
            f"{found['commit']} |"
        )
    INDEX.write_text("\n".join(lines) + "\n", encoding="utf-8")


_HEADLINE = re.compile(
    r"\*\*(?P<score>[\d.]+)%\*\* killed \((?P<killed>\d+) of (?P<total>\d+);.*?"
    r"(?P<equivalent>\d+) equivalent\), (?P<minutes>[\d.]+) min, commit (?P<commit>\w+)"
)


def _section(score: Score) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(score.counts.items()))
    body = [
        f"# {score.module}",
        "",
        f"**{score.score:.1f}%** killed ({score.killed} of {score.total}; {counts}; "
        f"{len(score.equivalent)} equivalent), {score.seconds / 60:.1f} min, "
        f"commit {score.commit}, tests: {', '.join(score.tests)}.",
    ]
    if score.survivors:
        body += ["", "## Surviving mutants"]
    for diff in score.survivors:
        body += ["", "```diff", diff, "```"]
    if score.equivalent:
        body += ["", "## Equivalent mutants"]
    for diff, why in score.equivalent:
        body += ["", f"Why equivalent: {why}", "", "```diff", diff, "```"]
    return "\n".join(body)
