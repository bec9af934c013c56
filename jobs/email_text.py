"""The emails' words: the templates in ``jobs/email_templates/``, read once, filled with string.Template.

A ``.txt`` or ``.html`` file is its template byte for byte: a body ends with its newline, a fragment
may start with one or end without one, and the signature's ``-- `` keeps its trailing space. A
``.subject`` or ``.lead`` file holds one line; its final newline is not part of the template.

``substitute`` raises ``KeyError`` for a word a caller left out, so a template and its caller cannot
drift apart unnoticed (the job tests render every email).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from string import Template

_FOLDER = Path(__file__).parent / "email_templates"
_ONE_LINE = (".subject", ".lead")


def _load(path: Path) -> Template:
    text = path.read_text(encoding="utf-8")
    return Template(text.removesuffix("\n") if path.suffix in _ONE_LINE else text)


# Read at import: a deployment without the folder fails at start, not at its first email.
_TEMPLATES = {path.name: _load(path) for path in _FOLDER.iterdir() if path.is_file()}


def render(name: str, words: Mapping[str, str], fragments: Mapping[str, str] | None = None) -> str:
    """Plain text: ``words``, and ``fragments`` rendered from other templates, go in as they are."""
    return _TEMPLATES[name].substitute(words, **(fragments or {}))


def render_html(name: str, words: Mapping[str, str], fragments: Mapping[str, str] | None = None) -> str:
    """HTML: ``words`` go in escaped; ``fragments``, HTML rendered from other templates, as they are."""
    escaped = {key: html.escape(value) for key, value in words.items()}
    return _TEMPLATES[name].substitute(escaped, **(fragments or {}))
