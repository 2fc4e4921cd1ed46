"""Claims of a change in a model's answer: chat executes nothing, so each one is false.

A model that called `set_model_alias` is told the call was not executed, and may still end
with "Done. I promoted pd-0008 to v3." Such text is never shown: the answer is replaced by a
factual summary of what the tools returned and what was proposed. The patterns are
deliberately narrow and deterministic: a first-person change ("I promoted", "we've scaled",
"I went ahead and rolled back"), a sentence that opens with "Done", "successfully <verb>",
and "has been <verb>" (a change just made). Negations ("I have not promoted", "has not been
rolled back") and proposals ("I proposed", "is proposed") do not match.
"""

import re

from llm.records import ToolCallRecord

_VERBS = (
    r"(?:promoted|demoted|rolled\s+back|reverted|scaled(?:\s+(?:down|up))?|re-?trained|set|"
    r"moved|migrated|deleted|removed|restarted|redeployed|deployed|undeployed|executed|applied|"
    r"updated|changed|switched|stopped|shut\s+down|drained|evicted|submitted|triggered|"
    r"started|launched|created|approved|rejected|pointed|resized|killed|paused|resumed|"
    r"disabled|enabled|opened|closed|fixed|resolved|quarantined)"
)
_FILLER = r"(?:\s+(?:just|now|already|successfully|also|then|(?:went|gone)\s+ahead\s+and))*"
_CLAIMS = re.compile(
    "|".join(
        (
            rf"\b(?:i|we)(?:'ve|\s+have)?{_FILLER}\s+{_VERBS}\b",
            r"(?:^|[.!?]\s+|\n\s*)(?:all\s+)?done\b",
            rf"\bsuccessfully\s+{_VERBS}\b",
            rf"\b(?:has|have)(?:\s+(?:now|just|already|successfully))*\s+been\s+{_VERBS}\b",
        )
    ),
    re.IGNORECASE,
)
NOTE = (
    "(The model's reply said a change was made. Chat executes nothing, so that reply is "
    "not shown; this is what its tools returned.)"
)


def claims_change(text: str) -> bool:
    """Whether `text` says a change was made."""
    return _CLAIMS.search(text.replace("\u2019", "'")) is not None


def summary(calls: list[ToolCallRecord], refused: list[tuple[str, str]]) -> str:
    """A neutral account of one answer's tool calls, in place of a reply claiming a change.

    Args:
        calls: The model's tool calls with their status.
        refused: (tool, reason) of each call refused outright.
    """
    lines = [NOTE]
    looked_up = list(dict.fromkeys(c.name for c in calls if c.status in ("ok", "no_data")))
    if looked_up:
        lines.append(f"Looked up: {', '.join(looked_up)}.")
    lines += [f"Refused: {tool} ({reason})" for tool, reason in refused]
    return "\n".join(lines)
