"""The offline feedback in words: strengths, improvements, a practice plan, a paragraph per
dimension and per question. Each point names the signal it rests on (with its count)
and quotes the candidate's own sentence as evidence (``quotes.py``). Each practice-plan
step cites the words that show why it is suggested (the answer without specifics, the
most hedged sentence…), picked after the points and dimensions (:func:`cite_plan`); a
dimension with nothing to show cites the answer it was judged from (``anchors.py``).

Points are found, not invented: a strength is only written when its signal is there, so
a weak interview may get fewer than three strengths (never an empty list: the strongest
answer is always one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from vivavoce.evaluation.evidence import CheckedQuote
from vivavoce.evaluation.offline import lexicon as lx
from vivavoce.evaluation.offline.anchors import closest_answer
from vivavoce.evaluation.offline.judge import DimensionJudgement, quality, specificity
from vivavoce.evaluation.offline.quotes import Anchor, QuotePicker, QuoteRef, Sentence
from vivavoce.evaluation.offline.signals import Answer, key_words, named_terms, question_focus
from vivavoce.text import shorten

__all__ = [
    "Point",
    "Points",
    "describe_answer",
    "justify",
    "answer_quote",
    "cite_plan",
    "quotes_json",
    "write_points",
]

_STAR_ORDER = ("situation", "task", "action", "result")


@dataclass
class Point:
    """One strength, improvement or plan step with the quotes that back it. A plan step
    has an ``anchor`` instead: its quote is picked later (:func:`cite_plan`)."""

    text: str
    quotes: list[CheckedQuote] = field(default_factory=list)
    weight: float = 0.0
    anchor: Anchor | None = None

    def as_json(self) -> dict[str, object]:
        return {"text": self.text, "quotes": quotes_json(self.quotes)}


@dataclass
class Points:
    strengths: list[Point]
    improvements: list[Point]
    plan: list[Point]


def quotes_json(quotes: Sequence[CheckedQuote]) -> list[dict[str, object]]:
    """Quotes as stored: ``{"text", "turn"}``, plus ``"ref": true`` for a sentence quoted
    elsewhere on the page and cited again by reference."""
    return [{"text": q.text, "turn": q.turn, **({"ref": True} if isinstance(q, QuoteRef) else {})}
            for q in quotes]


def _q(quote: CheckedQuote | None) -> list[CheckedQuote]:
    return [quote] if quote is not None else []


def _plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _short_question(answer: Answer) -> str:
    return shorten(answer.question, 80) if answer.question else "the opening"


def _list(items: Sequence[str], limit: int = 4) -> str:
    shown = list(dict.fromkeys(items))[:limit]
    return ", ".join(shown)


def write_points(answers: Sequence[Answer], picker: QuotePicker) -> Points:
    """Strengths (at most three), improvements (at most three, strongest need first) and a
    practice plan (three to six steps)."""
    english = answers[0].signals.english
    signals = [a.signals for a in answers]
    n = len(answers)
    total_words = sum(s.words for s in signals)
    strengths: list[Point] = []
    improvements: list[Point] = []
    plan: list[Point] = []

    # --- specifics (language-neutral core)
    numbers = [x for s in signals for x in s.numbers]
    named = [x for s in signals for x in s.named_terms]
    bare = [i for i, s in enumerate(signals) if s.specifics == 0 and s.words >= 8]
    if len(numbers) + len(named) >= 3:
        quote = picker.pick(lambda x: float(x.specifics()))
        names = f" ({_list(named)})" if named else ""
        strengths.append(Point(
            f"Specific detail: {_plural(len(numbers), 'number')} and "
            f"{_plural(len(named), 'named tool, technology or other name', 'named tools, technologies or other names')}"
            f"{names} across your answers.", _q(quote), 0.5 + 0.1 * (len(numbers) + len(named))))
    if bare:
        first = answers[bare[0]]
        quote = picker.pick(lambda x: float(len(x.words)), answers=bare)
        improvements.append(Point(
            f"Add specifics: {len(bare)} of {n} answers had no number and no named tool or "
            f"technology, e.g. your answer to “{_short_question(first)}”.", _q(quote),
            1.0 + len(bare) / n))
        plan.append(Point(
            "For each project you may talk about, note three numbers (team size, time, "
            "result) and the tools you used, then say them out loud in your answer; the "
            "answer cited here had neither.", anchor=Anchor(_fullest, tuple(bare))))

    # --- relevance (language-neutral)
    off = [i for i, s in enumerate(signals) if s.off_topic]
    if off:
        first = answers[off[0]]
        terms = ", ".join(key_words(question_focus(first.question),
                                    english=first.signals.english)[:4])
        improvements.append(Point(
            f"Answer the question asked: {len(off)} of {n} answers shared none of their "
            f"question's key terms (for “{_short_question(first)}”: {terms}).",
            _q(picker.pick(lambda x: float(len(x.words)), answers=off)), 1.5 + len(off) / n))
        plan.append(Point(
            "Before you answer, repeat the question's key words to yourself and use them in "
            "your first sentence; the first sentence cited here did not.",
            anchor=Anchor(_opening, (off[0],))))
    relevances = [s.relevance for s in signals if s.relevance is not None]
    if relevances and not off and sum(relevances) / len(relevances) >= 0.5:
        strengths.append(Point(
            f"You kept to the questions: on average your answers used "
            f"{round(100 * sum(relevances) / len(relevances))}% of their key terms.",
            # From the answer that kept closest to its question.
            _q(picker.pick(_fullest, answers=[max(
                range(n), key=lambda i: signals[i].relevance or 0.0)])), 0.6))

    # --- length (language-neutral)
    short = [i for i, s in enumerate(signals) if s.words < 20]
    if short:
        improvements.append(Point(
            f"Say more: {len(short)} of {n} answers were under 20 words "
            f"(the shortest: {min(signals[i].words for i in short)}).",
            _q(picker.pick(lambda x: 1.0, answers=short)), 1.2 + len(short) / n))
        shortest = min(short, key=lambda i: signals[i].words)
        plan.append(Point(
            "Aim for 45 to 90 seconds per answer: what the situation was, what you did, "
            "and what came of it; the answer cited here had "
            f"{_plural(signals[shortest].words, 'word')}.",
            anchor=Anchor(_fullest, (shortest,))))
    elif total_words / n >= 40:
        strengths.append(Point(
            f"Full answers: about {round(total_words / n)} words each, none under 20.",
            _q(picker.pick(_fullest)), 0.4))
    paces = [s.words_per_minute for s in signals if s.words_per_minute is not None]
    if paces and sum(paces) / len(paces) > 185:
        fastest = max(range(n), key=lambda i: signals[i].words_per_minute or 0.0)
        improvements.append(Point(
            f"Slow down: you spoke about {round(sum(paces) / len(paces))} words a minute "
            "(150 is easy to follow).",
            _q(picker.pick(_fullest, answers=[fastest])), 0.9))
        plan.append(Point(
            "Answer one question with a pause after each sentence; time it. The answer "
            f"cited here went at about {round(signals[fastest].words_per_minute or 0)} "
            "words a minute.", anchor=Anchor(_fullest, (fastest,))))

    if english:
        _english_points(answers, picker, strengths, improvements, plan)

    # Never an empty list: the strongest answer is a strength, the weakest a need.
    ranked = sorted(range(n), key=lambda i: quality(signals[i]), reverse=True)
    if not strengths:
        best = answers[ranked[0]]
        strengths.append(Point(
            f"Your strongest answer was to “{_short_question(best)}” "
            f"({_plural(best.signals.words, 'word')}).",
            _q(picker.pick(lambda x: float(len(x.words)), answers=[ranked[0]])), 0.1))
    if not improvements:
        worst = answers[ranked[-1]]
        improvements.append(Point(
            f"Your answer to “{_short_question(worst)}” was your least specific "
            f"(specificity {round(100 * specificity(worst.signals))}%): add a number or a name.",
            _q(picker.pick(lambda x: 1.0, answers=[ranked[-1]])), 0.1))
        plan.append(Point(
            "Take your weakest answer (cited here) and say it again with one number, one "
            "tool and one result in it.", anchor=Anchor(_first, (ranked[-1],))))
    strengths.sort(key=lambda p: p.weight, reverse=True)
    improvements.sort(key=lambda p: p.weight, reverse=True)
    # Material for a story: from an answer on the question's topic where there is one.
    on_topic = tuple(i for i, s in enumerate(signals) if not s.off_topic) or None
    plan.append(Point(
        "Prepare two stories from your projects in STAR order (situation, task, action, "
        "result) and tell each in under two minutes, starting from the words cited here.",
        anchor=Anchor(_story, on_topic)))
    if len(plan) < 3:
        briefest = min(range(n), key=lambda i: signals[i].words)
        plan.append(Point(
            "Write down the questions you were asked and answer each one again aloud, "
            "recording yourself, starting with your briefest answer (cited here).",
            anchor=Anchor(_first, (briefest,))))
    if len(plan) < 3:
        barest = min(range(n), key=lambda i: (signals[i].specifics, signals[i].words))
        plan.append(Point(
            "Listen to your recording and count your numbers, names and results: each "
            "answer should have at least one of each; the answer cited here had "
            f"{_plural(signals[barest].specifics, 'number or name', 'numbers or names')}.",
            anchor=Anchor(_fullest, (barest,))))
    # The sentences of points past the three kept are free for the plan and dimensions.
    for dropped in strengths[3:] + improvements[3:]:
        picker.release(dropped.quotes)
    return Points(strengths[:3], improvements[:3], _dedupe(plan)[:6])


def cite_plan(plan: Sequence[Point], picker: QuotePicker) -> None:
    """Give each plan step the words that show why it is suggested: the best unused
    sentence for its anchor, else one already quoted, by reference (:meth:`QuotePicker.cite`).
    Called after the points and dimensions have taken theirs."""
    for step in plan:
        if not step.quotes:
            step.quotes = _q(picker.cite(step.anchor or Anchor(_story)))


def _dedupe(points: list[Point]) -> list[Point]:
    seen: set[str] = set()
    out = []
    for p in points:
        if p.text not in seen:
            seen.add(p.text)
            out.append(p)
    return out


def _english_points(answers: Sequence[Answer], picker: QuotePicker, strengths: list[Point],
                    improvements: list[Point], plan: list[Point]) -> None:
    signals = [a.signals for a in answers]
    n = len(answers)
    # STAR
    full = [i for i, s in enumerate(signals) if len(s.star or ()) >= 3]
    if full:
        parts = ", ".join(p for p in _STAR_ORDER if p in (signals[full[0]].star or ()))
        strengths.append(Point(
            f"Structured stories: {len(full)} of {n} answers had at least three STAR parts "
            f"(the first: {parts}).",
            _q(picker.pick(lambda x: float(x.has_action()) + 0.1 * x.specifics(), answers=full)),
            0.9 + len(full) / n))
    missing = {p: sum(1 for s in signals if p not in (s.star or ())) for p in _STAR_ORDER}
    worst_part = max(_STAR_ORDER, key=lambda p: missing[p])
    if missing[worst_part] >= max(1, (n + 1) // 2):
        improvements.append(Point(
            f"Complete your stories: the {worst_part} was missing in {missing[worst_part]} "
            f"of {n} answers ({_star_hint(worst_part)}).",
            # An answer told without it.
            _q(picker.pick(_fullest, answers=[i for i, s in enumerate(signals)
                                              if worst_part not in (s.star or ())])),
            1.0 + missing[worst_part] / n))
        plan.append(Point(
            f"For every story, say the {worst_part} in one sentence of its own "
            f"({_star_hint(worst_part)}); the answer cited here left it out.",
            anchor=Anchor(_fullest, tuple(i for i, s in enumerate(signals)
                                          if worst_part not in (s.star or ())))))
    # outcomes
    with_outcome = [i for i, s in enumerate(signals) if s.outcomes]
    if with_outcome and len(with_outcome) * 2 >= n:
        strengths.append(Point(
            f"You said what came of your work in {len(with_outcome)} of {n} answers.",
            _q(picker.pick(lambda x: float(x.count_words(lx.OUTCOME_WORDS)
                                           + x.count(lx.OUTCOME_PHRASES))
                           + 0.2 * x.specifics())), 0.8))
    # ownership
    i_words = sum(s.i_words or 0 for s in signals)
    we_words = sum(s.we_words or 0 for s in signals)
    if we_words >= 3 and we_words > i_words:
        improvements.append(Point(
            f"Say what you did yourself: “we” {we_words} times against “I” {i_words} times.",
            _q(picker.pick(_we)), 1.1))
        plan.append(Point(
            "Retell one team project using “I” for each thing you did, and “we” only for "
            "what the team did together, starting with the sentence cited here.",
            anchor=Anchor(_we)))
    elif (i_words >= 3 and i_words >= 2 * max(we_words, 1)
          and any("action" in (s.star or ()) for s in signals)):
        # "I" alone is not ownership ("I think", "I guess"): an action said with it is.
        strengths.append(Point(
            f"Clear ownership: “I” {_plural(i_words, 'time')} against “we” "
            f"{_plural(we_words, 'time')}, with the "
            "actions you took.", _q(picker.pick(lambda x: float(x.has_action()))), 0.7))
    # hedges and fillers
    hedges = [h for s in signals for h in (s.hedges or ())]
    fillers = [f for s in signals for f in (s.fillers or ())]
    words = sum(s.words for s in signals)
    rate = 100 * (len(hedges) + len(fillers)) / words if words else 0.0
    if rate >= 3 and len(hedges) + len(fillers) >= 2:
        said = _list([f"“{h}”" for h in hedges + fillers])
        improvements.append(Point(
            f"Cut hedges and fillers: {len(hedges) + len(fillers)} in {words} words "
            f"({said}).",
            _q(picker.pick(_hedged)), 1.0 + rate / 10))
        plan.append(Point(
            "Record one answer and replace every “I think” or “maybe” with a plain "
            "statement of what you did or know, starting with the sentence cited here.",
            anchor=Anchor(_hedged)))
    elif words >= 60 and rate < 1.5:
        strengths.append(Point(
            f"Confident delivery: {_plural(len(hedges) + len(fillers), 'hedge or filler', 'hedges or fillers')} "
            f"in {words} words.", _q(picker.pick(_plain)), 0.5))


def _hedged(x: Sentence) -> float:
    return float(x.count(lx.HEDGES) + x.count(lx.FILLER_PHRASES) + x.count_words(lx.FILLERS))


def _fullest(x: Sentence) -> float:
    return float(len(x.words))


def _first(x: Sentence) -> float:
    """The earliest sentence (unused first), e.g. of the answer a step points to."""
    return 1.0


def _opening(x: Sentence) -> float:
    """The answer's first sentence."""
    return 1.0 if x.position == 0 else 0.0


def _we(x: Sentence) -> float:
    return float(x.count_words(lx.WE_WORDS) - x.count_words(lx.I_WORDS))


def _story(x: Sentence) -> float:
    """Material for a story: a step said with “I”, with specifics, of some length."""
    return 1.0 + 2 * float(x.has_action()) + x.specifics() + min(len(x.words), 30) / 30


def _plain(x: Sentence) -> float:
    """The fullest sentence without a hedge or filler."""
    return 0.0 if _hedged(x) else _fullest(x)


def _star_hint(part: str) -> str:
    return {
        "situation": "where and when it happened",
        "task": "what you had to achieve",
        "action": "“I …” and what you did",
        "result": "what changed because of it, with a number if you can",
    }[part]


def justify(judgement: DimensionJudgement, name: str, answers: Sequence[Answer],
            picker: QuotePicker, *, description: str = "") -> tuple[str, list[CheckedQuote]]:
    """The dimension's paragraph: its score from the rules, the signals with counts, and a
    quote where one shows the signal. Where none does (or the dimension has no signal of
    its own here), the answer it was judged from is cited, saying that no evidence of it
    was found there (``anchors.py``)."""
    signals = [a.signals for a in answers]
    n = len(answers)
    key = judgement.key
    lead = f"{judgement.score}/5 from the rules: "
    note = ""
    if judgement.basis == "neutral" and key in ("structure", "communication", "motivation"):
        note = (" English-word signals (STAR markers, hedges, motivation words) are not "
                "applied to this language; this rests on language-neutral signals.")
    quote: CheckedQuote | None = None
    if key == "structure" and judgement.basis == "english":
        counts = [len(s.star or ()) for s in signals]
        body = (f"your answers had on average {sum(counts) / n:.1f} of the four STAR parts "
                f"(situation, task, action, result); {sum(1 for c in counts if c >= 3)} of "
                f"{n} had three or more.")
        quote = picker.pick(lambda x: float(x.has_action()) + 0.5 * float(bool(x.specifics())))
    elif key == "structure":
        body = (f"{sum(s.sentences for s in signals)} sentences in {n} answers "
                f"(about {sum(s.words for s in signals) // n} words each).")
    elif key == "evidence":
        nums = sum(len(s.numbers) for s in signals)
        named = [t for s in signals for t in s.named_terms]
        body = (f"{_plural(nums, 'number')} and {_plural(len(named), 'named term')}"
                f"{' (' + _list(named) + ')' if named else ''} in {n} answers; "
                f"{sum(1 for s in signals if s.specifics)} of {n} answers had at least one.")
        quote = picker.pick(lambda x: float(x.specifics()))
    elif key == "communication":
        words = sum(s.words for s in signals)
        body = f"about {words // n} words per answer"
        paces = [s.words_per_minute for s in signals if s.words_per_minute is not None]
        if paces:
            body += f", at about {round(sum(paces) / len(paces))} words a minute"
        if judgement.basis == "english":
            said = sum(len(s.hedges or ()) + len(s.fillers or ()) for s in signals)
            body += f"; {_plural(said, 'hedge or filler', 'hedges or fillers')} in {words} words"
            # The sentence that shows it: the most hedged one, or (none hedged) the
            # fullest plain one.
            quote = picker.pick(_hedged) if said else picker.pick(_plain)
        body += "."
    elif key == "field_knowledge":
        named = [t for s in signals for t in s.named_terms]
        rel = [s.relevance for s in signals if s.relevance is not None]
        body = (f"{_plural(len(named), 'named tool or technology', 'named tools or technologies')}"
                f"{' (' + _list(named) + ')' if named else ''}"
                + (f"; answers used {round(100 * sum(rel) / len(rel))}% of their questions' key "
                   "terms on average" if rel else "")
                + ". The rules count terms; they cannot tell whether what you said is right.")
        # A listed tool first, else any named term the signals counted.
        quote = (picker.pick(lambda x: float(len([t for t in x.words if t in lx.TECH_TERMS])))
                 or picker.pick(_named))
    elif key == "motivation" and judgement.basis == "english":
        markers = [m for s in signals for m in (s.motivation or ())]
        body = (f"{_plural(len(markers), 'sign')} of motivation"
                f"{' (' + _list([f'“{m}”' for m in markers]) + ')' if markers else ''}.")
        quote = picker.pick(lambda x: float(x.contains(lx.MOTIVATION)))
    elif key == "motivation":
        rel = [s.relevance for s in signals if s.relevance is not None]
        body = (f"answers used {round(100 * sum(rel) / len(rel))}% of their questions' key "
                "terms on average." if rel else "no measurable signal in this language.")
    else:
        body = ("no signal of its own; the score follows the overall quality of your "
                "answers (specifics, structure, relevance, length).")
    if quote is None and answers:
        index, why = closest_answer(key, name, description, answers)
        quote = picker.cite(Anchor(_fullest, (index,)))
        # Language-neutral dimensions looked for their sign in every language.
        looked = judgement.basis == "english" or key in ("evidence", "field_knowledge")
        missing = _NOT_FOUND.get(key) if looked else None
        where = f"your answer to “{_short_question(answers[index])}” ({why}), cited here"
        body += (f" No {missing} was found in {where}." if missing else
                 f" Beyond that, the rules found no evidence of {name[:1].lower() + name[1:]} "
                 f"in {where}.")
    return lead + body + note, _q(quote)


# What a dimension's quote looks for, where the rules looked and found none anywhere.
_NOT_FOUND = {
    "structure": "step you took, said with “I” (the action of a story), and no number or "
                 "name",
    "evidence": "number and no named tool or other name",
    "field_knowledge": "named tool or technology",
    "motivation": "sign of motivation (such as “I enjoy”, “because” or “to learn”)",
    "communication": "sentence",
}


def _named(x: Sentence) -> float:
    return float(len(named_terms(x.text, english=x.english)))


def describe_answer(answer: Answer) -> tuple[str, str, str]:
    """(summary, strong, improve) for one answer, from its signals."""
    s = answer.signals
    bits = [f"{_plural(s.words, 'word')} in {_plural(s.sentences, 'sentence')}"]
    if s.numbers:
        bits.append(_plural(len(s.numbers), "number"))
    if s.named_terms:
        bits.append("named: " + _list(s.named_terms))
    if s.english and s.star:
        bits.append("STAR: " + ", ".join(p for p in _STAR_ORDER if p in s.star))
    if s.relevance is not None:
        bits.append(f"{len(s.shared_terms)} of {len(s.question_terms)} key terms of the question")
    summary = "; ".join(bits) + "."
    strong_bits: list[str] = []
    weak_bits: list[str] = []
    if s.specifics >= 2:
        strong_bits.append("concrete numbers or names")
    elif s.specifics == 0:
        weak_bits.append("add a number or a named tool")
    if s.english:
        if len(s.star or ()) >= 3:
            strong_bits.append("a story with most STAR parts")
        missing = [p for p in _STAR_ORDER if p not in (s.star or ())]
        if missing and len(missing) <= 2:
            weak_bits.append("say the " + " and the ".join(missing))
        elif missing:
            weak_bits.append("tell it as a story (situation, task, action, result)")
        if s.outcomes:
            strong_bits.append("it says what came of the work")
        if (s.hedge_rate or 0) >= 4:
            weak_bits.append("fewer hedges and fillers")
    if s.off_topic:
        weak_bits.insert(0, "it did not use the question's key terms: answer what was asked")
    elif s.relevance is not None and s.relevance >= 0.5:
        strong_bits.append("it keeps to the question")
    if s.words < 20:
        weak_bits.insert(0, "say more (under 20 words)")
    strong = (_sentence(", ".join(strong_bits)) if strong_bits
              else "Nothing stood out in the signals.")
    improve = _sentence(", ".join(weak_bits)) if weak_bits else "Keep it this way."
    return summary, strong, improve


def answer_quote(answer_index: int, picker: QuotePicker) -> CheckedQuote | None:
    """The answer's most telling unused sentence (specific, with an action, full)."""
    return picker.pick(_answer_sentence, answers=[answer_index], refer=False)


def _answer_sentence(x: Sentence) -> float:
    return 1.0 + x.specifics() + float(x.has_action()) + min(len(x.words), 30) / 30


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."
