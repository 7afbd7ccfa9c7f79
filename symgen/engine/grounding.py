"""Are the SQL's quoted values in the question? A preference among beams, or a decoding mask.

A small task model trained from scratch copies rare names badly: on GeoQuery dev, 47 of the 172
wrong answers of the 1.5B-data `tiny` model quote a value the question never says
("population of boulder" → `city_name = 'conbank'`), while no gold query there does.
`grounded_in` prefers the first valid beam whose string literals all occur in the question
(`TaskModel.complete`'s `prefer`: when no beam is grounded, the choice is what it would have
been without it). `LiteralGuard` goes further and masks the decoder's tokens so that a quoted
value can only be one the question names; opt-in, because some values are legitimately not in
the question (Spider's "male students" → `sex = 'M'`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from symgen.dataset import question_key

Check = Callable[[str], bool]


def string_literals(sql: str) -> list[str]:
    """The SQL's single-quoted values (`''` inside one is a quote), without parsing: this runs
    on every beam, and the schema check has already parsed it."""
    return [m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')*)'", sql)]


def ungrounded(sql: str, question: str) -> list[str]:
    """String literals of `sql` that the question does not contain (case, spacing and
    punctuation ignored; a LIKE pattern's `%` wildcards dropped)."""
    said = f" {question_key(question)} "
    out = []
    for value in string_literals(sql):
        core = question_key(value)  # LIKE's % wildcards drop out with the punctuation
        if core and f" {core} " not in said:
            out.append(value)
    return out


def grounded_in(question: str) -> Check:
    """A `prefer` check: the SQL quotes only values the question contains."""
    return lambda sql: not ungrounded(sql, question)


def all_of(*checks: Check | None) -> Check | None:
    """The checks that are set, all required (None when none is)."""
    active = [c for c in checks if c is not None]
    if not active:
        return None
    return lambda text: all(c(text) for c in active)


# Words a quoted value rarely starts or ends with (the question's own wording).
FUNCTION_WORDS = frozenset((
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or",
    "not", "no", "is", "are", "was", "were", "be", "been", "does", "do", "did", "there", "that",
    "this", "these", "those", "it", "its", "me", "my", "you", "your", "we", "our", "they",
    "their", "what", "which", "who", "whom", "whose", "where", "when", "why", "how", "many",
    "much", "give", "list", "show", "tell", "find", "name", "names", "named", "all", "any",
    "each", "every", "some", "than", "more", "less", "most", "least",
))  # fmt: skip


def question_spans(question: str, max_words: int = 8) -> frozenset[str]:
    """Every run of up to `max_words` consecutive words of the question that neither starts nor
    ends with a function word, as written and lower-cased (outer punctuation of each word
    dropped: "austin?" → "austin")."""
    words = [w.strip(',.?!;:"()[]{}') for w in question.split()]
    words = [w for w in words if w]
    out = set()
    for i in range(len(words)):
        for j in range(i + 1, min(len(words), i + max_words) + 1):
            if words[i].lower() in FUNCTION_WORDS or words[j - 1].lower() in FUNCTION_WORDS:
                continue
            span = " ".join(words[i:j])
            out |= {span, span.lower()}
    return frozenset(out)


def literal_values(question: str, db_values: Sequence[str] = ()) -> frozenset[str]:
    """What a quoted value may be: the database values the question names (`ValueIndex`), or,
    when it names none, the runs of its words (`question_spans`)."""
    if db_values:
        return frozenset(v for value in db_values for v in (value, value.lower()))
    return question_spans(question)


def _like_before(text: str) -> bool:
    """Does the SQL before an opening quote end with LIKE (so `%` wildcards are allowed)?"""
    return text.rstrip().lower().endswith("like")


class LiteralGuard:
    """Constrained decoding of SQL string literals: inside quotes, only tokens that keep the
    value a prefix of one of `values` (`literal_values`), with `%` wildcards at either end
    after LIKE. Outside quotes every token is allowed but those whose quote opens or closes a
    value that breaks the rule, and the SQL cannot end inside a value. `token_texts` is the
    vocabulary decoded token by token (byte-level BPE: a sequence's text is their
    concatenation)."""

    def __init__(
        self, values: Iterable[str], token_texts: Sequence[str], eos: int | None = None
    ) -> None:
        self.eos = eos
        self.values = frozenset(values)
        self.prefixes = frozenset(v[:i] for v in self.values for i in range(len(v) + 1))
        self.texts = list(token_texts)
        self.quoted = [i for i, t in enumerate(self.texts) if "'" in t]
        self.special = [i for i, t in enumerate(self.texts) if "'" in t or "%" in t]
        self.by_text: dict[str, list[int]] = {}
        for i, t in enumerate(self.texts):
            if t:
                self.by_text.setdefault(t, []).append(i)

    def _open_ok(self, value: str, like: bool) -> bool:
        core = value.lstrip("%") if like else value
        if core in self.prefixes:
            return True
        return like and core.endswith("%") and core.rstrip("%") in self.values

    def _closed_ok(self, value: str, like: bool) -> bool:
        return (value.strip("%") if like else value) in self.values

    def consistent(self, text: str) -> bool:
        """Every closed literal in `text` is an allowed value; an open one can still become one."""
        parts = text.split("'")
        before = parts[0]
        for k in range(1, len(parts), 2):
            like = _like_before(before)
            if k == len(parts) - 1:  # the open literal
                return self._open_ok(parts[k], like)
            if not self._closed_ok(parts[k], like):
                return False
            before = parts[k + 1]
        return True

    def mask(self, text: str) -> np.ndarray | None:
        """Allowed next tokens after `text` (the generated SQL so far), None = no constraint."""
        if not self.values:
            return None
        parts = text.split("'")
        allowed = np.ones(len(self.texts), dtype=bool)
        if len(parts) % 2 == 0:  # inside a literal: continuations of an allowed value
            like, current = _like_before(parts[-2]), parts[-1]
            core = current.lstrip("%") if like else current
            allowed[:] = False
            for value in self.values:
                if value.startswith(core):
                    rest = value[len(core) :]
                    for k in range(1, len(rest) + 1):
                        allowed[self.by_text.get(rest[:k], [])] = True
            for i in self.special:  # closing quotes and wildcards
                t = self.texts[i]
                allowed[i] = (
                    self.consistent(text + t) if "'" in t else self._open_ok(current + t, like)
                )
            if self.eos is not None and self.eos < len(allowed):
                allowed[self.eos] = False
        else:
            for i in self.quoted:
                allowed[i] = self.consistent(text + self.texts[i])
        if not allowed.any():
            return None  # nothing fits (cannot happen with byte-level BPE): leave it free
        return allowed
