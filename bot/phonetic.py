"""Sound-alike keys: text in which homophones (援/缘, 议/意, 证/正) become the same symbol."""

from __future__ import annotations

import threading

from pypinyin import Style, lazy_pinyin

# Folds that pinyin input on a phone confuses most (southern accents drop the retroflex and
# the final -g), so 申请/森请 and 公正/公证 land on the same key.
_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINAL_FOLDS = (("ing", "in"), ("eng", "en"), ("ang", "an"))
_CODE_BASE = 0xF0000  # Supplementary Private Use Area A: never present in normalised text


class _Codes:
    """Gives each folded syllable one private-use character, so rapidfuzz sees one symbol per syllable."""

    def __init__(self) -> None:
        self._codes: dict[str, str] = {}
        self._lock = threading.Lock()  # catalogues load in a worker thread

    def __call__(self, syllable: str) -> str:
        code = self._codes.get(syllable)
        if code is None:
            with self._lock:
                code = self._codes.setdefault(syllable, chr(_CODE_BASE + len(self._codes)))
        return code


_code = _Codes()


def fold(syllable: str) -> str:
    """Fold a toneless pinyin syllable to the form shared by its common input confusions."""
    for a, b in _FOLDS:
        if syllable.startswith(a):
            syllable = b + syllable[len(a):]
            break
    for a, b in _FINAL_FOLDS:
        if syllable.endswith(a):
            return syllable[: -len(a)] + b
    return syllable


def sound_key(text: str) -> str:
    """Map normalised text to one symbol per syllable; characters that are not Chinese stay as they are."""
    if not text:
        return ""
    parts = lazy_pinyin(text, style=Style.NORMAL, errors=lambda chunk: list(chunk))
    out = []
    for part in parts:
        if len(part) == 1 and not part.isalpha():
            out.append(part)
        elif part.isascii() and part.isalpha() and len(part) > 1:
            out.append(_code(fold(part)))
        else:
            out.append(part)
    return "".join(out)
