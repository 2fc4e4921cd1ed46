"""Prompt templates as files: one cached loader, strict rendering, a hash per render.

Templates live in `prompts/templates/NAME.md.j2`. Partials start with `_` and are included
by other templates (`{% include "_safety.md.j2" %}`). A variable a template needs but is not
given is an error, never an empty string.
"""

import hashlib
from functools import lru_cache
from importlib import resources

import jinja2
from pydantic import BaseModel

from tools.errors import ConfigError

TEMPLATE_SUFFIX = ".md.j2"


class PromptError(ConfigError):
    """A prompt is unknown or was rendered without a variable it needs."""


class RenderedPrompt(BaseModel):
    """A rendered prompt and its identity for the audit log."""

    name: str
    text: str
    sha256: str
    """Hash of the rendered text: which exact prompt a decision was made with."""


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    root = resources.files("prompts") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template_names() -> list[str]:
    """Names of all non-partial templates."""
    names = _environment().list_templates(filter_func=lambda n: n.endswith(TEMPLATE_SUFFIX))
    return sorted(n.removesuffix(TEMPLATE_SUFFIX) for n in names if not n.startswith("_"))


def render_prompt(name: str, **variables: object) -> RenderedPrompt:
    """Render a template by name.

    Raises:
        PromptError: unknown template, or a variable it uses is missing.
    """
    try:
        template = _environment().get_template(name + TEMPLATE_SUFFIX)
        text = template.render(**variables)
    except jinja2.TemplateNotFound:
        raise PromptError(
            f"unknown prompt {name!r}; known: {', '.join(template_names())}"
        ) from None
    except jinja2.UndefinedError as exc:
        raise PromptError(f"prompt {name!r} needs a variable that was not given: {exc}") from None
    return RenderedPrompt(name=name, text=text, sha256=hashlib.sha256(text.encode()).hexdigest())
