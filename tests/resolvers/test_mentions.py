"""Mentions in a comment: the syntax that names a user, and how many one comment may name."""

from __future__ import annotations

import pytest

from resolvers.mentions import MAX_MENTIONS, mentioned_emails


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hi @Ada@Example.com, and @bob@x.io.", ["ada@example.com", "bob@x.io"]),
        ("@ada@example.com: see (@cy@d.org) and\n@dee@e.net!", ["ada@example.com", "cy@d.org", "dee@e.net"]),
        ("write to ada@example.com", []),  # an address alone mentions nobody
        ("x@ada@example.com and mail@@ada@example.com", []),  # "@" inside a word is not a mention
        ("@ada, @ada@localhost, @@ada@example.com", []),  # a handle, no dot in the domain, a doubled "@"
        ("@ada@example.com @ADA@example.com @ada@example.com", ["ada@example.com"]),
    ],
)
def test_a_mention_is_an_at_sign_and_a_full_email_address(body: str, expected: list[str]) -> None:
    assert mentioned_emails(body) == expected


def test_a_comment_mentions_at_most_twenty_people() -> None:
    body = " ".join(f"@user{i}@example.com" for i in range(MAX_MENTIONS + 5))
    assert mentioned_emails(body) == [f"user{i}@example.com" for i in range(MAX_MENTIONS)]
