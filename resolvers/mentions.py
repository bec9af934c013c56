"""Mentions in a comment's body. A mention is ``@`` followed by the user's full email address
(``@ada@example.com``): emails are unique, so a mention never names two people, and it needs no handle
column. It starts a word (after a space, a line break or an opening bracket or quote); trailing
punctuation is not part of it. At most ``MAX_MENTIONS`` people per comment.
"""

from __future__ import annotations

import re

MAX_MENTIONS = 20
# "@" at the start of a word, then an address: something, "@", something with a dot in it.
_MENTION = re.compile(r"(?:^|(?<=[\s(\[{<\"']))@([^@\s]+@[^@\s]+)")
_TRAILING = ".,;:!?)]}>'\""


def mentioned_emails(body: str) -> list[str]:
    """The addresses a comment mentions, lower-cased, each once, in order, at most MAX_MENTIONS."""
    found: list[str] = []
    for match in _MENTION.finditer(body):
        email = match.group(1).rstrip(_TRAILING).lower()
        local, _, domain = email.partition("@")
        if not local or "." not in domain.strip(".") or email in found:
            continue
        found.append(email)
        if len(found) == MAX_MENTIONS:
            break
    return found
