"""Choose the record a person meant among search results, or say that the choice is unclear.

A query matches a candidate by word coverage: the share of the query's significant words found in
the candidate's code, names or description (plurals folded, prefixes of 4+ letters accepted).
A candidate is *clearly best* when its code equals the query, or when it alone covers the whole
query, or when it leads a partial match by a clear margin. An exact short name is not enough:
"Horizonte" is the short name of one customer and the first word of another, so it is a question. Two candidates that
cover the query equally ("Acme" -> "Acme Fixings" and "Acme Fittings") are a question for the user.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.planner.lexicon import MATCH_STOPWORDS, SOFT_MATCH_WORDS
from agent.planner.text import fold, singular, tokens


@dataclass(frozen=True)
class Candidate:
    """One search result reduced to what matching needs."""

    code: str
    label: str
    texts: tuple[str, ...]
    blocked: bool = False
    preferred: bool = True  # e.g. a postable account; used only to break ties
    group: str = ""  # e.g. the parent account: siblings tied on the words default to the first


@dataclass(frozen=True)
class Choice:
    """The outcome: ``best`` is an index into the candidates, or None with ``ties`` to ask about."""

    best: int | None
    ties: tuple[int, ...] = ()  # the tied candidates (with ``best`` set: the siblings it was chosen among)

    @property
    def clear(self) -> bool:
        return self.best is not None


def _norm_tokens(text: str) -> list[str]:
    return [singular(t) for t in tokens(text)]


def query_words(query: str) -> tuple[list[str], list[str]]:
    """(hard, soft) significant words of a query: soft ones only break ties."""
    words = [w for w in _norm_tokens(query) if w not in MATCH_STOPWORDS]
    hard = [w for w in words if w not in SOFT_MATCH_WORDS]
    soft = [w for w in words if w in SOFT_MATCH_WORDS]
    if not hard:
        return soft, []
    return hard, soft


def _word_hit(word: str, vocabulary: set[str]) -> bool:
    if word in vocabulary:
        return True
    if len(word) >= 4:
        return any(v.startswith(word) or (len(v) >= 4 and word.startswith(v)) for v in vocabulary)
    return False


def coverage(query: str, candidate: Candidate) -> tuple[float, float]:
    """(share of hard words found, share of soft words found) for one candidate."""
    hard, soft = query_words(query)
    vocabulary = {w for text in (candidate.code, *candidate.texts) for w in _norm_tokens(text)}
    vocabulary |= {fold(candidate.code)}
    hard_score = sum(_word_hit(w, vocabulary) for w in hard) / len(hard) if hard else 0.0
    soft_score = sum(_word_hit(w, vocabulary) for w in soft) / len(soft) if soft else 0.0
    return hard_score, soft_score


def choose(
    query: str, candidates: list[Candidate], *, trust_single: bool = True, lenient: bool = False
) -> Choice:
    """The candidate the query clearly means, or the tied ones to ask about.

    ``lenient`` is for small closed lists (cost centers): the only candidate sharing any word wins.
    """
    if not candidates:
        return Choice(None)
    q = fold(query).strip()
    exact_code = [i for i, c in enumerate(candidates) if fold(c.code) == q]
    if len(exact_code) == 1:
        return Choice(exact_code[0])
    scores = [coverage(query, c) for c in candidates]
    ranked = sorted(range(len(candidates)), key=lambda i: (-scores[i][0], -scores[i][1], i))
    top = ranked[0]
    top_hard = scores[top][0]
    if top_hard == 0.0:
        if trust_single and len(candidates) == 1:
            return Choice(0)
        return Choice(None, tuple(ranked[:5]))
    full = [i for i in ranked if scores[i][0] == top_hard]
    if len(full) > 1:
        best_soft = max(scores[i][1] for i in full)
        full = [i for i in full if scores[i][1] == best_soft]
    if len(full) > 1:
        preferred = [i for i in full if candidates[i].preferred]
        if len(preferred) == 1:
            return Choice(preferred[0])
        pool = preferred or full
        groups = {candidates[i].group for i in pool}
        if len(groups) == 1 and "" not in groups:
            # "the bank account" among Bank account Itau / Bradesco / ...: siblings of one parent,
            # equally named; take the first of the chart and say so.
            first = min(pool, key=lambda i: candidates[i].code)
            return Choice(first, tuple(pool))
        return Choice(None, tuple(full[:5]))
    runner_up = max((scores[i][0] for i in ranked[1:]), default=0.0)
    if top_hard == 1.0 or (top_hard >= 0.5 and top_hard - runner_up >= 0.25) or (lenient and runner_up == 0):
        return Choice(top)
    return Choice(None, tuple(i for i in ranked[:5] if scores[i][0] > 0) or tuple(ranked[:5]))


def search_variants(query: str) -> list[str]:
    """Queries to try in turn when a search finds nothing: as typed, singular words, the key word."""
    typed = " ".join(query.split())
    hard, soft = query_words(query)
    variants = [typed]
    if hard:
        variants.append(" ".join(hard + soft))
        variants.append(" ".join(hard))
        variants.append(max(hard, key=lambda w: (len(w), -hard.index(w))))
    out: list[str] = []
    for v in variants:
        if v and fold(v) not in {fold(o) for o in out}:
            out.append(v)
    return out[:3]
