"""Task descriptions with the word frequencies of real text, for the demo and benchmark data.

A description holds one to three of a few topic words (each then in about an eighth of all tasks) and
a tail of words drawn by Zipf's law from a vocabulary of 5,000 made-up words: the word of rank r is in
about 1.1/r of all tasks, as in written text, where most words are rare. A vocabulary of 16 words
(the first version) put every word in half of all tasks, which made every search a scan of half the
table (about 100 ms of MariaDB per word over 50,000 tasks) and no search look like a real one.
"""

from __future__ import annotations

import itertools
import random

TOPIC_WORDS = ("customer", "latency", "timeout", "regression", "database", "deploy", "release", "invoice",
               "session", "token", "replica", "backup", "payload", "schema", "metrics", "alert")  # fmt: skip
# Consonant-vowel syllables: three of them make a word of 6 letters, over FULLTEXT's 3-letter minimum,
# none an English stopword, and none starting with "zq" (the search tests' own unique words).
_SYLLABLES = ("ba", "ke", "lo", "mi", "nu", "pa", "re", "si", "to", "vu",
              "da", "fe", "gi", "ho", "ju", "ka", "le", "mo", "ni", "ru")  # fmt: skip
VOCABULARY_SIZE = 5000


def _vocabulary() -> list[str]:
    words = ["".join(parts) for parts in itertools.product(_SYLLABLES, repeat=3)]
    random.Random(7).shuffle(words)  # noqa: S311 - a fixed order (the same ranks in every run), no secret
    return words[:VOCABULARY_SIZE]


VOCABULARY = _vocabulary()
# Zipf's law with exponent 1: the word of rank r (from 1) is drawn with weight 1/r.
_CUMULATIVE = list(itertools.accumulate(1.0 / rank for rank in range(1, VOCABULARY_SIZE + 1)))


def description(rng: random.Random) -> str:
    words = rng.sample(TOPIC_WORDS, rng.randint(1, 3))
    words += rng.choices(VOCABULARY, cum_weights=_CUMULATIVE, k=rng.randint(4, 17))
    rng.shuffle(words)
    return " ".join(words)


def word_of_rank(rank: int) -> str:
    """The vocabulary's word of this rank (1: the most frequent)."""
    return VOCABULARY[rank - 1]
