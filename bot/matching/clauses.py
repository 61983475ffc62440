"""Split a message into clauses, and tell which of them ask something.

Citizens put a question next to background or a remark ("房东不退押金，人民调解管不管",
"手机上能续营业执照吗？？烦死了"): the other clause dilutes a whole-message match. The matcher also
scores each clause on its own (bot.matching.ranking.rank).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass

# Punctuation and symbols end a clause; so do emoji (anything that is neither a letter, a digit
# nor a space).
_BREAK = re.compile(r"[^\w\s]+|_+")
_QUESTION_MARK = re.compile(r"[?？]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# Besides its question words (intents/words.yaml), "A不A" (管不管, 能不能) makes a clause a question.
_A_NOT_A = re.compile(r"(\w)[不没]\1")


@dataclass(frozen=True, slots=True)
class Clause:
    text: str
    asks: bool  # holds a question word or ends with a question mark


def _spaced_letters(tokens: list[str]) -> bool:
    """Typed one character at a time with spaces between them ("网 上 能 办 事")."""
    singles = sum(len(t) == 1 and bool(_HAN.match(t)) for t in tokens)
    return len(tokens) >= 3 and singles * 2 >= len(tokens)


def _split_spaces(piece: str) -> list[str]:
    """Spaces separate clauses only between Chinese words: "有没有 app 可以" keeps the Latin word
    with its neighbours, and letter-by-letter typing keeps its letters together."""
    tokens = piece.split()
    if len(tokens) < 2 or _spaced_letters(tokens):
        return ["".join(tokens)]
    out = [tokens[0]]
    for token in tokens[1:]:
        between_words = bool(_HAN.search(out[-1][-1:]) and _HAN.match(token))
        if between_words and len(token) > 1 and len(out[-1]) > 1:
            out.append(token)
        elif between_words:
            out[-1] += token  # a lone character typed apart: "温 州的公租房"
        else:
            out[-1] += " " + token  # kept: synonyms such as "legal aid" are written with it
    return out


def asks(text: str, question_words: Collection[str]) -> bool:
    """The text holds a question word or an "A不A"."""
    if isinstance(question_words, tuple):  # the catalogue's list: one search, not one per word and clause
        return bool(_any_of(question_words).search(text)) or bool(_A_NOT_A.search(text))
    return any(word in text for word in question_words) or bool(_A_NOT_A.search(text))


@functools.lru_cache(maxsize=8)
def _any_of(words: tuple[str, ...]) -> re.Pattern[str]:
    # As `word in text` for any of them: an empty word is in every text, and no words in none.
    if not all(words):
        return re.compile("")
    return re.compile("|".join(map(re.escape, words)) or "(?!)")


def split(prepared: str, question_words: Collection[str]) -> tuple[Clause, ...]:
    """The clauses of a prepare()d message, in order, without punctuation or emoji; spaces stay
    only around Latin words. A clause asks when it holds one of `question_words`."""
    clauses: list[Clause] = []
    position = 0
    for mark in [*_BREAK.finditer(prepared), None]:
        end = mark.start() if mark else len(prepared)
        question = bool(mark and _QUESTION_MARK.search(mark.group(0)))
        pieces = [p for p in _split_spaces(prepared[position:end]) if p]
        for n, piece in enumerate(pieces):
            clauses.append(Clause(piece, asks(piece, question_words) or (question and n == len(pieces) - 1)))
        position = mark.end() if mark else end
    return tuple(clauses)
