"""Deterministic answer-quality signals, one set per answer. No model, no downloads.

An *answer* is what the candidate said after one interviewer turn (consecutive candidate
turns together); its *question* is that interviewer turn. Per answer:

- length and pace: words, sentences, words per minute when the turns' audio length is
  known and plausible;
- specificity: numbers (digits, and English number words), named terms (tools and
  technologies from a list, acronyms, mixed-case names such as "PostgreSQL"; in English
  also capitalised names inside a sentence), concrete nouns (English);
- outcome language ("reduced", "as a result", … English);
- ownership: "I" words against "we" words (English);
- STAR structure: situation, task, action ("I" + an action verb), result (English);
- hedges ("I think", "maybe") and fillers ("um", "you know") (English);
- relevance: the question's key terms (its question sentence, without stop words and
  question words) that the answer shares, compared by a crude stem.

English-word signals are computed for English interviews only (``language`` starting
with ``en``); for other languages they are None and :attr:`AnswerSignals.english` is
False, so nothing downstream can mistake "no English hedges" for "no hedges".
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from vivavoce.evaluation.offline import lexicon as lx
from vivavoce.evaluation.transcript import TranscriptLine, word_count

__all__ = [
    "Answer",
    "AnswerSignals",
    "is_english",
    "measure",
    "pair_answers",
    "sentences",
]

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_TERM = re.compile(r"[^\W_][\w.+#'’-]*")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*%?")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+")
_ACRONYM = re.compile(r"^[A-Z][A-Z0-9]{1,5}s?$")
_MIXED = re.compile(r"^[A-Za-z]*[a-z][A-Z][A-Za-z0-9]*$|^[a-z]+[A-Z]+[A-Za-z]*$")
_ALNUM = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]{2,}$")
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "edly", "ed", "ers", "er",
             "ies", "es", "ly", "s")
_NOT_NAMES = frozenset(
    ["i", "i'm", "i've", "i'd", "i'll", "ok", "okay", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "english"]
)
# Words per minute a person can plausibly speak; outside this the audio length is not
# the answer's (e.g. a turn stored without its audio) and pace is not reported.
_PLAUSIBLE_WPM = (40.0, 320.0)


def is_english(language: str | None) -> bool:
    return (language or "en").strip().lower().split("-")[0] == "en"


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (at . ! ? or … followed by a space), stripped."""
    return [s.strip() for s in _SENTENCE_SPLIT.split(text.strip()) if s.strip()]


def _words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def _padded(words: Sequence[str]) -> str:
    return " " + " ".join(words) + " "


def _phrases(padded: str, phrases: Iterable[str]) -> list[str]:
    found: list[str] = []
    for phrase in phrases:
        found.extend([phrase] * padded.count(" " + phrase + " "))
    return found


def stem(word: str, *, english: bool) -> str:
    """A crude stem: English suffixes off, then the first five letters ("tested",
    "testing" -> "test"; "designed" -> "desig")."""
    word = word.lower().replace("'", "")
    if english:
        for suffix in _SUFFIXES:
            if len(word) - len(suffix) >= 4 and word.endswith(suffix):
                word = word[: -len(suffix)]
                break
    return word[:5]


def key_terms(text: str, *, english: bool) -> list[str]:
    """The stems of the content words of ``text`` in order, each once."""
    return [s for s, _ in _key_words(text, english=english)]


def key_words(text: str, *, english: bool) -> list[str]:
    """The content words of ``text`` themselves (one per stem), for people to read."""
    return [w for _, w in _key_words(text, english=english)]


def _key_words(text: str, *, english: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for word in _words(text):
        if english:
            if len(word) < 3 or word in lx.STOPWORDS or word in lx.QUESTION_WORDS:
                continue
        elif len(word) < 4 or word.isdigit():
            continue  # no stop-word list: short words are mostly function words
        s = stem(word, english=english)
        if s not in seen:
            seen.add(s)
            out.append((s, word))
    return out


def question_focus(text: str) -> str:
    """The part of an interviewer turn that asks: its sentences with a question mark,
    else its last sentence ("Thanks, Ada. Tell me about a project." -> the second)."""
    parts = sentences(text)
    asked = [s for s in parts if "?" in s]
    return " ".join(asked) if asked else (parts[-1] if parts else "")


def named_terms(text: str, *, english: bool) -> list[str]:
    """Tools, technologies and names, each once (first spelling kept)."""
    found: dict[str, str] = {}
    for sentence in sentences(text) or [text]:
        tokens = _TERM.findall(sentence)
        for position, raw in enumerate(tokens):
            token = raw.rstrip(".,'’-")
            if not token:
                continue
            low = token.lower()
            named = (
                low in lx.TECH_TERMS
                or bool(_ACRONYM.match(token))
                or bool(_MIXED.match(token))
                or bool(_ALNUM.match(token))
                or (english and position > 0 and token[0].isupper() and low not in _NOT_NAMES
                    and low not in lx.STOPWORDS and token[1:].islower())
            )
            if named and token not in ("I", "A") and low not in found:
                found[low] = token
    return list(found.values())


def numbers(text: str, *, english: bool) -> list[str]:
    found = _NUMBER.findall(text)
    if english:
        found += [w for w in _words(text) if w in lx.NUMBER_WORDS]
    return found


@dataclass(frozen=True)
class AnswerSignals:
    """What the rules found in one answer. English-only signals are None otherwise."""

    english: bool
    words: int
    sentences: int
    seconds: float | None
    words_per_minute: float | None
    numbers: tuple[str, ...]
    named_terms: tuple[str, ...]
    question_terms: tuple[str, ...]
    shared_terms: tuple[str, ...]
    concrete_nouns: tuple[str, ...] | None = None
    outcomes: tuple[str, ...] | None = None
    i_words: int | None = None
    we_words: int | None = None
    star: tuple[str, ...] | None = None
    hedges: tuple[str, ...] | None = None
    fillers: tuple[str, ...] | None = None
    motivation: tuple[str, ...] | None = None

    @property
    def relevance(self) -> float | None:
        """Share of the question's key terms the answer uses (None: the question had
        none, e.g. "Tell me about yourself")."""
        if not self.question_terms:
            return None
        return len(self.shared_terms) / len(self.question_terms)

    @property
    def topical(self) -> float | None:
        """0-1: how closely the answer keeps to its question. Half the question's key
        terms counts fully; in English an answer about concrete work (two or more
        concrete nouns) counts at least 0.5 even in other words ("a project" answered
        with "the booking system for our lab"). None when the question had no key terms."""
        relevance = self.relevance
        if relevance is None:
            return None
        value = min(1.0, relevance / 0.5)
        if self.concrete_nouns is not None and len(self.concrete_nouns) >= 2:
            value = max(value, 0.5)
        return value

    @property
    def off_topic(self) -> bool:
        """A substantial answer (15+ words) that shares none of at least two key terms of
        its question (and, in English, is not about concrete work either)."""
        return (len(self.question_terms) >= 2 and self.words >= 15
                and self.topical is not None and self.topical == 0.0)

    @property
    def ownership(self) -> float | None:
        """I / (I + we); None when neither was said or not English."""
        if self.i_words is None or self.we_words is None or self.i_words + self.we_words == 0:
            return None
        return self.i_words / (self.i_words + self.we_words)

    @property
    def hedge_rate(self) -> float | None:
        """Hedges and fillers per 100 words."""
        if self.hedges is None or self.fillers is None or self.words == 0:
            return None
        return 100 * (len(self.hedges) + len(self.fillers)) / self.words

    @property
    def specifics(self) -> int:
        """Numbers and named terms: the language-neutral core of specificity."""
        return len(self.numbers) + len(self.named_terms)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "words": self.words,
            "sentences": self.sentences,
            "seconds": None if self.seconds is None else round(self.seconds, 1),
            "words_per_minute": None if self.words_per_minute is None
            else round(self.words_per_minute),
            "numbers": list(self.numbers),
            "named_terms": list(self.named_terms),
            "relevance": None if self.relevance is None else round(self.relevance, 2),
            "shared_terms": list(self.shared_terms),
            "question_terms": list(self.question_terms),
        }
        if self.english:
            out.update(
                concrete_nouns=list(self.concrete_nouns or ()),
                outcomes=list(self.outcomes or ()),
                i_words=self.i_words,
                we_words=self.we_words,
                star=list(self.star or ()),
                hedges=list(self.hedges or ()),
                fillers=list(self.fillers or ()),
            )
        return out


def _star(padded: str, words: Sequence[str], outcomes: Sequence[str]) -> tuple[str, ...]:
    parts: list[str] = []
    if _phrases(padded, lx.STAR_SITUATION) or re.search(r" (?:in|since) (?:19|20)\d\d ", padded) \
            or re.search(r" \w+ (?:years?|months?|weeks?) ago ", padded):
        parts.append("situation")
    if _phrases(padded, lx.STAR_TASK):
        parts.append("task")
    if any(w == "i" and any(v in lx.STAR_ACTION_VERBS for v in words[i + 1 : i + 3])
           for i, w in enumerate(words)):
        parts.append("action")
    if outcomes:
        parts.append("result")
    return tuple(parts)


def _pace(words: int, lines: Sequence[TranscriptLine]) -> tuple[float | None, float | None]:
    audio = [line.audio_ms for line in lines]
    if not audio or any(a is None or a <= 0 for a in audio):
        return None, None
    seconds = sum(a or 0 for a in audio) / 1000
    wpm = words / (seconds / 60)
    if seconds < 3 or not _PLAUSIBLE_WPM[0] <= wpm <= _PLAUSIBLE_WPM[1]:
        return seconds, None
    return seconds, wpm


def measure(question: str, answer_lines: Sequence[TranscriptLine], *, language: str) -> AnswerSignals:
    """The signals of one answer (its candidate turns) to ``question``."""
    english = is_english(language)
    text = " ".join(line.text.strip() for line in answer_lines)
    words = _words(text)
    count = word_count(text)
    seconds, wpm = _pace(count, answer_lines)
    q_terms = key_terms(question_focus(question), english=english)
    a_terms = set(key_terms(text, english=english))
    base = AnswerSignals(
        english=english,
        words=count,
        sentences=len(sentences(text)) if text.strip() else 0,
        seconds=seconds,
        words_per_minute=wpm,
        numbers=tuple(numbers(text, english=english)),
        named_terms=tuple(named_terms(text, english=english)),
        question_terms=tuple(q_terms),
        shared_terms=tuple(t for t in q_terms if t in a_terms),
    )
    if not english:
        return base
    padded = _padded(words)
    outcomes = [w for w in words if w in lx.OUTCOME_WORDS] + _phrases(padded, lx.OUTCOME_PHRASES)
    return dataclasses.replace(
        base,
        concrete_nouns=tuple(dict.fromkeys(w for w in words if w in lx.CONCRETE_NOUNS)),
        outcomes=tuple(outcomes),
        i_words=sum(1 for w in words if w in lx.I_WORDS),
        we_words=sum(1 for w in words if w in lx.WE_WORDS),
        star=_star(padded, words, outcomes),
        hedges=tuple(_phrases(padded, lx.HEDGES)),
        fillers=tuple([w for w in words if w in lx.FILLERS] + _phrases(padded, lx.FILLER_PHRASES)),
        motivation=tuple(p for p in lx.MOTIVATION if p in padded),
    )


@dataclass(frozen=True)
class Answer:
    """One question and the candidate turns that answer it."""

    question: str
    """The interviewer's whole turn (all of it, not the model's paraphrase)."""
    question_turn: int | None
    question_interrupted: bool
    lines: tuple[TranscriptLine, ...]
    signals: AnswerSignals = field(compare=False)

    @property
    def text(self) -> str:
        return " ".join(line.text.strip() for line in self.lines)


def pair_answers(lines: Sequence[TranscriptLine], *, language: str) -> list[Answer]:
    """Each run of candidate turns with the interviewer turn before it, measured."""
    answers: list[Answer] = []
    question: TranscriptLine | None = None
    run: list[TranscriptLine] = []

    def close() -> None:
        if run:
            # The whole question, also where the candidate cut in (what was heard is
            # only its start: "Thank you. Next").
            text = (question.full_text or question.text) if question is not None else ""
            answers.append(Answer(
                question=text,
                question_turn=question.sequence if question is not None else None,
                question_interrupted=question is not None and question.state == "interrupted",
                lines=tuple(run),
                signals=measure(text, run, language=language),
            ))
            run.clear()

    for line in lines:
        if not line.text.strip():
            continue
        if line.speaker == "interviewer":
            close()
            question = line
        else:
            run.append(line)
    close()
    return answers
