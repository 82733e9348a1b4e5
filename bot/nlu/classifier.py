"""Intent classification: weighted keyword evidence plus fuzzy similarity to the examples.

Every intent declares keywords (with weights, conjunctions ``"A+B"`` and negative evidence) and
example sentences. At start-up we index both once: keywords in a dict keyed by the phrase, examples
in an inverted index from character bigrams to examples. Per message we look up keyword phrases
at every position, pick a handful of candidate examples through the index, score only those with
rapidfuzz, and add the two kinds of evidence. That keeps a message at tens of microseconds, where
fuzzy-matching every example would cost about a millisecond (see performance.md). A message that
tells a story around its question is read for its question clause (see STORY_WEIGHT).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from bot.nlu.normalize import normalize
from intents.base import Intent

# How much a perfect example match weighs against keyword evidence, and the similarity under
# which an example says nothing (unrelated sentences share a few characters by chance).
SIM_WEIGHT = 4.0
SIM_FLOOR = 0.45
# Under this much evidence no topic is recognised and the message is out of scope; a message
# that names our domain (医保, 新农合 …) needs less, since it is about medical insurance anyway.
MIN_EVIDENCE = 2.0
MIN_EVIDENCE_IN_DOMAIN = 0.8
# Evidence for another domain (养老金, 公积金) that overrules topic words when ours is absent.
OTHER_DOMAIN_AT = 4.0
# Social intents (greeting, human) lose to a topic intent with this much keyword evidence.
SOCIAL_DAMPING_AT = 2.0
CANDIDATES = 12
# Naive Bayes over characters and character pairs, trained on every labelled sentence: it
# generalises to wordings no keyword foresaw ("关系弄过去", "欠的几个月还能交不"). Its posterior
# is softened (NB is famously over-confident) and weighed like the other evidence.
NB_WEIGHT = 4.0
NB_TEMPERATURE = 4.0
NB_ALPHA = 0.3
# A message that tells a story before (or after) its question ("去年断了三个月后来补上了, 现在
# 从深圳调去东莞, 医保要怎么转") asks what its question clause asks: the last clause with a
# question word. When that clause names our domain itself (医保, 新农合: it stands on its own)
# and carries clear topic evidence, the evidence of the other clauses weighs this much. A question
# that leans on what came before ("医保停掉了, 卡还能刷吗") is read whole: there the story is
# its condition.
STORY_WEIGHT = 0.5
STORY_ASKED_AT = 2.5  # the weight of a clear topic keyword (怎么转, 要转吗, 交多少)
QUESTION_CUES = (
    "吗", "么", "嘛", "呢", "怎", "咋", "如何", "什么", "啥", "哪", "几", "多少", "多久", "多长",
    "能不能", "可不可以", "是否", "是不是", "有没有", "要不要", "会不会", "行不行", "能否", "可以",
    "还能", "需要", "办法",
)  # fmt: skip

# Digits and spans of digits carry no intent; they are folded into one symbol so "补缴3个月" and
# "补缴五个月" look alike to the similarity scorer.
_DIGITS = re.compile(r"\d+(?:\.\d+)?")
_CN_NUM = re.compile(r"[一二两三四五六七八九十半百千万]+(?=[个年月天块元岁号日])")
PLACE_MARK = "地"


def shape(text: str) -> str:
    """The form of a message compared with examples: numbers folded, spaces and punctuation out."""
    text = _DIGITS.sub("9", text)
    text = _CN_NUM.sub("9", text)
    return "".join(ch for ch in text if ch.isalnum())


def nb_features(shaped: str) -> list[str]:
    """Characters and adjacent pairs of a shaped message."""
    return [*shaped, *(shaped[i : i + 2] for i in range(len(shaped) - 1))]


# Greedy: the match ends with the last question word of the text.
_LAST_CUE = re.compile(".*(?:" + "|".join(QUESTION_CUES) + ")", re.S)
_HAN = re.compile("[\u4e00-\u9fff]")


def _question_clause(text: str) -> tuple[int, int] | None:
    """The span of the last clause (split at spaces: punctuation is a space by now) with a
    question word, when other clauses tell something around it (no story in digits alone)."""
    last = _LAST_CUE.match(text)
    if last is None:
        return None
    start = text.rfind(" ", 0, last.end() - 1) + 1
    end = text.find(" ", last.end())
    end = len(text) if end < 0 else end
    if _HAN.search(text, 0, start) or _HAN.search(text, end):
        return start, end
    return None


def _told_only(text: str, asked: tuple[int, int], first: str, rest: tuple[str, ...]) -> bool:
    """Does every occurrence of each part of a conjunction lie outside the question clause?"""
    start, end = asked
    for part in (first, *rest):
        at = text.find(part)
        while at >= 0:
            if start <= at < end:
                return False
            at = text.find(part, at + 1)
    return True


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} or ({text} if text else set())


@dataclass(frozen=True)
class Scored:
    intent: str
    score: float
    keyword: float
    similarity: float
    nearest: str


@dataclass(frozen=True)
class Classification:
    intent: str
    confidence: float
    runner_up: str | None
    runner_up_confidence: float
    ranking: tuple[Scored, ...]  # the best three, best first


class IntentClassifier:
    """Built once from the registered intents; ``classify`` is pure and thread-safe."""

    def __init__(
        self,
        intents: Sequence[Intent],
        mask: Callable[[str], str] | None = None,
        corpus: Sequence[tuple[str, str]] = (),
        alone: Callable[[str, int], bool] | None = None,
    ) -> None:
        self.intents = tuple(intents)
        self.ids = tuple(i.id for i in self.intents)
        self.social = frozenset(i.id for i in self.intents if i.social)
        self.fallback = "out_of_scope"
        self._fallback_idx = self.ids.index(self.fallback)
        self._social_idx = frozenset(i for i, x in enumerate(self.intents) if x.social)
        self._topical = tuple(
            i for i, x in enumerate(self.intents) if not x.social and x.id != self.fallback
        )
        self._topical_set = frozenset(self._topical)
        self._mask = mask or (lambda s: s)
        # Decides whether a one-character keyword stands as a word (jieba, in the NLU).
        self._alone = alone or (lambda text, pos: True)
        self._phrases: dict[str, list[tuple[int, float]]] = defaultdict(list)
        self._combos: list[tuple[tuple[str, ...], int, float]] = []
        for idx, intent in enumerate(self.intents):
            for phrase, weight in intent.keywords.items():
                phrase = phrase.lower()
                if "+" in phrase:
                    self._combos.append((tuple(phrase.split("+")), idx, weight))
                else:
                    self._phrases[phrase].append((idx, weight))
        self._single = frozenset(p for p in self._phrases if len(p) == 1)
        # The keyword lengths that start with each character: all a position needs to try.
        lengths: dict[str, set[int]] = defaultdict(set)
        for phrase in self._phrases:
            lengths[phrase[0]].add(len(phrase))
        self._lengths = {ch: tuple(sorted(ls)) for ch, ls in lengths.items()}
        # Conjunctions are looked up by their first part, so absent parts cost one test each.
        self._combos_by_first: dict[str, list[tuple[tuple[str, ...], int, float]]] = defaultdict(
            list
        )
        for parts, idx, weight in self._combos:
            self._combos_by_first[parts[0]].append((parts[1:], idx, weight))
        self._build_examples(corpus)

    # -- start-up -------------------------------------------------------------------------
    def _build_examples(self, corpus: Sequence[tuple[str, str]]) -> None:
        self._examples: list[tuple[int, str]] = []
        index: dict[str, list[int]] = defaultdict(list)
        position = {iid: idx for idx, iid in enumerate(self.ids)}
        labelled = [(idx, ex) for idx, intent in enumerate(self.intents) for ex in intent.examples]
        # The extra corpus trains the Naive Bayes model only: as nearest neighbours its long,
        # rambling messages matched unrelated short questions more often than they helped.
        self._train_bayes([*labelled, *((position[iid], text) for iid, text in corpus)])
        for idx, example in labelled:
            shaped = shape(self._mask(normalize(example)))
            eid = len(self._examples)
            self._examples.append((idx, shaped))
            for gram in bigrams(shaped):
                index[gram].append(eid)
        n = len(self._examples)
        # Rare bigrams say more about an example than ones found everywhere ("医保"); the most
        # common ones select no useful candidates and only cost time, so they are left out.
        cap = max(20, n // 12)
        self._index = {
            g: (math.log(1 + n / len(ids)), tuple(ids))
            for g, ids in index.items()
            if len(ids) <= cap
        }

    def _train_bayes(self, labelled: Sequence[tuple[int, str]]) -> None:
        counts: list[defaultdict[str, int]] = [defaultdict(int) for _ in self.intents]
        for idx, example in labelled:
            for feature in nb_features(shape(self._mask(normalize(example)))):
                counts[idx][feature] += 1
        vocab = set().union(*counts)
        size = len(vocab)
        totals = [sum(c.values()) for c in counts]
        # One row per feature: its log-likelihood under every intent, divided by the temperature.
        self._nb: dict[str, tuple[float, ...]] = {
            f: tuple(
                math.log((c.get(f, 0) + NB_ALPHA) / (t + NB_ALPHA * size)) / NB_TEMPERATURE
                for c, t in zip(counts, totals, strict=True)
            )
            for f in vocab
        }

    def bayes_scores(self, shaped: str) -> list[float]:
        """Posterior probability of each intent from the Naive Bayes model (sums to 1)."""
        table = self._nb
        rows = [row for row in map(table.get, nb_features(shaped)) if row is not None]
        if not rows:
            return [1.0 / len(self.intents)] * len(self.intents)
        return self._posterior([sum(column) for column in zip(*rows, strict=True)])

    def _bayes_told(self, shaped: str, text: str, asked: tuple[int, int]) -> list[float]:
        """:meth:`bayes_scores` of ``shaped`` (the whole message) with the features outside the
        question clause weighing STORY_WEIGHT."""
        table = self._nb
        rows = [r for r in map(table.get, nb_features(shaped)) if r]
        told = [r for r in map(table.get, nb_features(shape(text[: asked[0]]))) if r]
        told += [r for r in map(table.get, nb_features(shape(text[asked[1] :]))) if r]
        if not rows:
            return [1.0 / len(self.intents)] * len(self.intents)
        if not told:
            return self._posterior([sum(column) for column in zip(*rows, strict=True)])
        cut = 1.0 - STORY_WEIGHT
        all_sums = map(sum, zip(*rows, strict=True))
        told_sums = map(sum, zip(*told, strict=True))
        return self._posterior([a - cut * t for a, t in zip(all_sums, told_sums, strict=True)])

    @staticmethod
    def _posterior(log_p: list[float]) -> list[float]:
        top = max(log_p)
        exp = [math.exp(v - top) for v in log_p]
        total = sum(exp)
        return [e / total for e in exp]

    def vocabulary(self) -> list[str]:
        """Multi-character keyword phrases, for jieba's user dictionary."""
        return [p for p in self._phrases if len(p) > 1]

    # -- per message ------------------------------------------------------------------------
    def keyword_scores(self, text: str) -> list[float]:
        """Summed keyword weights per intent (see :class:`~intents.base.Intent`)."""
        return self._keywords(text)[0]

    def _keywords(self, text: str) -> tuple[list[float], float, float, tuple[int, int] | None]:
        """Keyword scores, plus the fallback intent's positive evidence ("another domain":
        养老金, 公积金, 天气) and its negative evidence ("our domain": 医保, 新农合) apart, and
        the question clause when the rest was given less weight (see STORY_WEIGHT)."""
        scores = [0.0] * len(self.intents)
        other_domain = our_domain = 0.0
        found: list[tuple[int, int, str]] = []
        n = len(text)
        phrases = self._phrases
        lengths = self._lengths
        for start, ch in enumerate(text):
            for size in lengths.get(ch, ()):
                end = start + size
                if end > n:
                    break
                piece = text[start:end]
                if piece in phrases:
                    found.append((start, end, piece))
        # Positions inside a longer keyword are inside a word: no one-character keyword there.
        covered = {i for start, end, _ in found if end - start > 1 for i in range(start, end)}
        # Per intent, a phrase inside a longer matched phrase of the same intent is not counted
        # again ("报销比例" already says what "报销" and "比例" would).
        per_intent: dict[int, list[tuple[int, int, float]]] = defaultdict(list)
        for start, end, piece in sorted(found, key=lambda f: f[0] - f[1]):
            if piece in self._single and (start in covered or not self._alone(text, start)):
                continue  # a one-character keyword counts only as a word of its own
            for idx, weight in phrases[piece]:
                spans = per_intent[idx]
                if any(s <= start and end <= e for s, e, _ in spans):
                    continue
                spans.append((start, end, weight))
                scores[idx] += weight
                if idx == self._fallback_idx:
                    if weight > 0:
                        other_domain += weight
                    else:
                        our_domain -= weight
        matched: list[tuple[str, tuple[str, ...], int, float]] = []
        for first, combos in self._combos_by_first.items():
            if first in text:
                for rest, idx, weight in combos:
                    if all(part in text for part in rest):
                        scores[idx] += weight
                        matched.append((first, rest, idx, weight))
        asked = _question_clause(text) if our_domain and " " in text else None
        if asked is not None and self._tell_story(text, asked, scores, per_intent, matched):
            return scores, other_domain, our_domain, asked
        return scores, other_domain, our_domain, None

    def _tell_story(
        self,
        text: str,
        asked: tuple[int, int],
        scores: list[float],
        per_intent: Mapping[int, list[tuple[int, int, float]]],
        combos: list[tuple[str, tuple[str, ...], int, float]],
    ) -> bool:
        """Give the keywords outside the question clause STORY_WEIGHT when that clause names
        our domain and a clear topic itself; say whether it did."""
        start, end = asked
        fallback = self._fallback_idx
        domain = per_intent.get(fallback, ())
        if not any(w < 0 and start <= at < end for at, _, w in domain):
            return False
        strongest = max(
            (w for i in self._topical for at, _, w in per_intent.get(i, ()) if start <= at < end),
            default=0.0,
        )
        if strongest < STORY_ASKED_AT:
            return False
        told = [0.0] * len(scores)
        for idx, spans in per_intent.items():
            for at, _, weight in spans:
                if not start <= at < end:
                    told[idx] += weight
        for first, rest, idx, weight in combos:
            if _told_only(text, asked, first, rest):
                told[idx] += weight
        cut = 1.0 - STORY_WEIGHT
        for idx, weight in enumerate(told):
            if weight and idx != fallback:
                scores[idx] -= cut * weight
        return True

    def similarity_scores(
        self, text: str, leave_out: bool = False, shaped: str | None = None
    ) -> tuple[list[float], list[str]]:
        """Best rapidfuzz ratio per intent among the candidate examples (``text`` is masked).

        ``leave_out`` ignores an example identical to the message, so the examples themselves
        can be used to test how the classifier does on sentences it has not seen.
        """
        shaped = shaped if shaped is not None else shape(text)
        sims = [0.0] * len(self.intents)
        nearest = [""] * len(self.intents)
        if not shaped:
            return sims, nearest
        votes: dict[int, float] = defaultdict(float)
        for gram in bigrams(shaped):
            hit = self._index.get(gram)
            if hit:
                weight, ids = hit
                for eid in ids:
                    votes[eid] += weight
        best = sorted(votes, key=votes.__getitem__, reverse=True)[:CANDIDATES]
        for eid in best:
            idx, example = self._examples[eid]
            if leave_out and example == shaped:
                continue
            sim = fuzz.ratio(shaped, example) / 100.0
            if sim > sims[idx]:
                sims[idx] = sim
                nearest[idx] = example
        return sims, nearest

    def classify(self, text: str, leave_out: bool = False) -> Classification:
        """Rank every intent for a normalised message whose place names are already masked."""
        kw, other_domain, our_domain, asked = self._keywords(text)
        shaped = shape(text)
        sims, nearest = self.similarity_scores(text, leave_out, shaped)
        if asked is None:
            bayes = self.bayes_scores(shaped)
        else:
            bayes = self._bayes_told(shaped, text, asked)
        topical = max(kw[i] for i in self._topical)
        scores = []
        for i, sim in enumerate(sims):
            score = kw[i] + SIM_WEIGHT * max(0.0, sim - SIM_FLOOR) / (1 - SIM_FLOOR)
            score += NB_WEIGHT * bayes[i]
            if i in self._social_idx and topical >= SOCIAL_DAMPING_AT:
                score *= 0.3
            scores.append(score)
        order = sorted(range(len(scores)), key=scores.__getitem__, reverse=True)[:3]
        ranking = tuple(
            Scored(self.ids[i], round(scores[i], 4), kw[i], round(sims[i], 4), nearest[i])
            for i in order
        )
        if other_domain >= OTHER_DOMAIN_AT and other_domain >= 2 * our_domain:
            # Clearly about another domain (养老保险, 车险) far more than about ours: whatever
            # topic words it shares with us (转移, 提醒, 报销, 个人账户), it is out of scope.
            oos = Scored(self.fallback, round(other_domain, 4), other_domain, 0.0, "")
            ranking = (oos, *(r for r in ranking if r.intent != self.fallback))[:3]
        threshold = MIN_EVIDENCE_IN_DOMAIN if our_domain > 0 else MIN_EVIDENCE
        return self._decide(ranking, threshold)

    def _decide(self, ranking: tuple[Scored, ...], threshold: float) -> Classification:
        best, second = ranking[0], ranking[1]
        strength = 1.0 - math.exp(-max(best.score, 0.0) / 2.5)
        if best.intent != self.fallback and best.score < threshold:
            # Too little evidence for any topic: out of scope, as sure as the evidence is weak.
            conf = round(1.0 - strength * 0.8, 3)
            runner = best.intent if best.intent != self.fallback else second.intent
            return Classification(self.fallback, conf, runner, round(strength, 3), ranking)
        if best.intent == self.fallback:
            runner = second.intent
            return Classification(self.fallback, round(strength, 3), runner, 0.0, ranking)
        margin = (best.score - max(second.score, 0.0)) / best.score
        conf = round(strength * (0.55 + 0.45 * margin), 3)
        second_conf = round(conf * max(second.score, 0.0) / best.score, 3)
        return Classification(best.intent, conf, second.intent, second_conf, ranking)
