"""Which answer a dimension with nothing of its own to quote was judged from.

A dimension's justification quotes the sentence that shows its signal (``writer.justify``).
Where no sentence shows it (no sign of motivation anywhere, say) or the dimension has no
signal of its own in this language, it still cites the candidate: the answer to the
question closest to the dimension, else the longest answer, and says that no evidence of
it was found there.

    closeness(question) = the question's words (crude stems, ``signals.stem``) that are
                          words of the dimension's name and description or its English
                          cue words (``lexicon.DIMENSION_CUES``; English interviews only)
    chosen              = the answer whose question is closest (ties: the longer answer);
                          none closer than 0: the longest answer (ties: the earliest)
"""

from __future__ import annotations

from collections.abc import Sequence

from vivavoce.evaluation.offline import lexicon as lx
from vivavoce.evaluation.offline.quotes import sentence_words
from vivavoce.evaluation.offline.signals import Answer, key_terms, question_focus, stem

__all__ = ["closest_answer"]


def _cues(key: str, name: str, description: str, *, english: bool) -> set[str]:
    cues = set(key_terms(f"{name}. {description}", english=english))
    if english:
        cues |= {stem(word, english=True) for word in lx.DIMENSION_CUES.get(key, ())}
    return cues


def closest_answer(key: str, name: str, description: str,
                   answers: Sequence[Answer]) -> tuple[int, str]:
    """The index of the answer the dimension is judged from, and why that one (words for
    the candidate: "the question closest to motivation…", "your longest answer")."""
    english = bool(answers) and answers[0].signals.english
    cues = _cues(key, name, description, english=english)

    def closeness(answer: Answer) -> int:
        words = {stem(w, english=english) for w in
                 sentence_words(question_focus(answer.question))}
        return len(words & cues)

    near = [closeness(a) for a in answers]
    # max() keeps the first of equals: the earliest answer on a full tie.
    best = max(range(len(answers)), key=lambda i: (near[i], answers[i].signals.words))
    if near[best] > 0:
        return best, f"the question closest to {name[:1].lower() + name[1:]}"
    return best, "your longest answer"
