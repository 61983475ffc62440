"""Sound-alike keys: text in which homophones (援/缘, 议/意, 证/正) become the same symbol."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

# Folds that pinyin input on a phone confuses most (southern accents drop the retroflex and
# the final -g), so 申请/森请 and 公正/公证 land on the same key.
_FOLDS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINAL_FOLDS = (("ing", "in"), ("eng", "en"), ("ang", "an"))
# Every toneless pinyin syllable (ü written v), so that typed pinyin ("xingzheng fuyi") can be
# split into syllables and keyed like the characters it spells.
_SYLLABLES = frozenset((
    'a ai an ang ao ba bai ban bang bao bei ben beng bi bian biao bie bin bing bo bu ca cai can cang '
    'cao ce cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan '
    'chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de den deng di dian '
    'diao die ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo '
    'fou fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai '
    'han hang hao he hei hen heng hm hong hou hu hua huai huan huang hui hun huo ji jia jian jiang '
    'jiao jie jin jing jiong jiu ju juan jue jun ka kai kan kang kao ke ken keng kong kou ku kua kuai '
    'kuan kuang kui kun kuo la lai lan lang lao le lei leng li lia lian liang liao lie lin ling liu '
    'lo long lou lu luan lun luo lv lve m ma mai man mang mao me mei men meng mi mian miao mie min '
    'ming miu mo mou mu n na nai nan nang nao ne nei nen neng ni nian niang niao nie nin ning niu '
    'nong nou nu nuan nun nuo nv nve o ou pa pai pan pang pao pei pen peng pi pian piao pie pin ping '
    'po pou pu qi qia qian qiang qiao qie qin qing qiong qiu qu quan que qun ran rang rao re ren reng '
    'ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen seng sha shai shan shang shao she '
    'shen sheng shi shou shu shua shuai shuan shuang shui shun shuo si song sou su suan sui sun suo '
    'ta tai tan tang tao te teng ti tian tiao tie ting tong tou tu tuan tui tun tuo wa wai wan wang '
    'wei wen weng wo wu xi xia xian xiang xiao xie xin xing xiong xiu xu xuan xue xun ya yan yang yao '
    'ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen zeng zha zhai zhan '
    'zhang zhao zhe zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun zhuo zi zong zou '
    'zu zuan zui zun zuo'
).split()) - {"m", "n", "hm"}  # interjections (嗯, 呣): they would let English words pass as pinyin
_LATIN_RUN = re.compile(r"[a-z]+")
_CODE_BASE = 0xF0000  # Supplementary Private Use Area A: never present in normalised text


class _Codes:
    """Gives each syllable one private-use character, so rapidfuzz sees one symbol per syllable.

    Every syllable pypinyin gives (and its folded form) has a fixed code, so keys are the same in
    every process: match workers key messages exactly as the index they were sent was keyed.
    """

    def __init__(self, known: Iterable[str]) -> None:
        self._codes: dict[str, str] = {s: chr(_CODE_BASE + n) for n, s in enumerate(sorted(set(known)))}
        self._lock = threading.Lock()  # catalogues load in a worker thread

    def __call__(self, syllable: str) -> str:
        code = self._codes.get(syllable)
        if code is None:
            with self._lock:
                code = self._codes.setdefault(syllable, chr(_CODE_BASE + len(self._codes)))
        return code


@functools.lru_cache(maxsize=1024)  # a few hundred syllables exist
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


# Readings pypinyin gives that are not in the syllable inventory above (rare characters, interjections).
_RARE_READINGS = {"biang", "bong", "cei", "din", "hm", "hng", "m", "n", "ng", "wong"}
CODED_SYLLABLES = frozenset(_SYLLABLES | _RARE_READINGS | {fold(s) for s in _SYLLABLES | _RARE_READINGS})
_code = _Codes(CODED_SYLLABLES)


def split_pinyin(run: str) -> list[str] | None:
    """Split letters typed as pinyin into syllables (fewest pieces), or None if they are not pinyin."""
    best: list[list[str] | None] = [[]] + [None] * len(run)
    for end in range(1, len(run) + 1):
        for start in range(max(0, end - 6), end):
            head = best[start]
            if head is not None and run[start:end] in _SYLLABLES:
                if best[end] is None or len(head) + 1 < len(best[end] or ()):
                    best[end] = [*head, run[start:end]]
    return best[-1]


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(piece, is_syllable) for each character, or each syllable of typed pinyin."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for run in _LATIN_RUN.finditer(text):
        if run.start() > pos:
            out += _han_tokens(text[pos: run.start()])
        syllables = split_pinyin(run.group())
        if syllables is not None and len(syllables) >= 2:
            out += [(s, True) for s in syllables]
        else:
            out += [(c, False) for c in run.group()]
        pos = run.end()
    if pos < len(text):
        out += _han_tokens(text[pos:])
    return out


def _han_tokens(text: str) -> list[tuple[str, bool]]:
    # Each character's first reading, cached. Reading by phrase would get 调解 as tiao rather than
    # diao, but costs ~5 µs a character against ~0.1; examples and messages are keyed alike either
    # way, and an exact character match is scored anyway.
    return [_char_token(ch) for ch in text]


def _one_per_character(chunk: str) -> Any:
    # pypinyin accepts a list here (one item per character), though its annotation says str.
    return list(chunk)


# Importing pypinyin costs ~0.7 s, most of a short command's start-up, so its readings of every
# character in TABLE_RANGES are stored in the catalogue cache (bot.catalogue.cache) and installed
# with use_readings(); pypinyin is then imported only for a character outside them. Either way a
# character gets the token pypinyin gives it.
TABLE_RANGES = ((0x0000, 0xD800), (0xE000, 0x10000), (0x1F000, 0x1FB00))  # the BMP and the emoji blocks
_table: Mapping[str, str] | None = None  # the installed readings; a character missing reads as itself
_tokens_of: dict[str, tuple[str, bool]] = {}
_REMEMBERED = 65536  # tokens kept: every character in common use, not every code point a stranger sends


def _token(part: str) -> tuple[str, bool]:
    return part, part.isascii() and part.isalpha() and len(part) > 1


def _in_table(ch: str) -> bool:
    code = ord(ch)
    return any(start <= code < end for start, end in TABLE_RANGES)


def _char_token(ch: str) -> tuple[str, bool]:
    token = _tokens_of.get(ch)
    if token is None:
        table = _table
        if table is not None and _in_table(ch):
            token = _token(table.get(ch, ch))
        else:
            from pypinyin import Style, lazy_pinyin  # only for a character the table lacks

            token = _token(lazy_pinyin(ch, style=Style.NORMAL, errors=_one_per_character)[0])
        if len(_tokens_of) < _REMEMBERED:
            _tokens_of[ch] = token
    return token


def reading_table() -> dict[str, str]:
    """pypinyin's reading of each character in TABLE_RANGES that does not read as itself, for
    use_readings() in this or a later process (imports pypinyin: ~1 s)."""
    from pypinyin import Style, lazy_pinyin

    chars = [chr(c) for start, end in TABLE_RANGES for c in range(start, end)]
    # Each item of a list is read alone, as _char_token reads one character (tests/test_phonetic_table.py).
    parts = lazy_pinyin(chars, style=Style.NORMAL, errors=_one_per_character)
    if len(parts) != len(chars):
        raise RuntimeError("pypinyin did not give one reading per character")
    return {ch: part for ch, part in zip(chars, parts, strict=True) if part != ch}


def use_readings(table: Mapping[str, str]) -> None:
    """Key characters in TABLE_RANGES by `table` (a reading_table()) instead of importing pypinyin."""
    global _table
    _table = table


def installed_readings() -> Mapping[str, str] | None:
    """The table use_readings() installed, to hand to match workers; None if there is none."""
    return _table


_symbols_of: dict[str, tuple[str, str]] = {}  # each character's (folded, exact) key symbol


def _symbols(ch: str) -> tuple[str, str]:
    symbols = _symbols_of.get(ch)
    if symbols is None:
        part, is_syllable = _char_token(ch)
        symbols = (_code(fold(part)), _code(part)) if is_syllable else (part, part)
        if len(_symbols_of) < _REMEMBERED:
            _symbols_of[ch] = symbols
    return symbols


def sound_keys(text: str) -> tuple[str, str]:
    """The folded and the exact sound key of normalised text (see sound_key)."""
    if not _LATIN_RUN.search(text):  # no typed pinyin: each character alone, its symbols looked up
        symbols = [_symbols(ch) for ch in text]
        return "".join([s[0] for s in symbols]), "".join([s[1] for s in symbols])
    tokens = _tokens(text)
    folded = "".join(_code(fold(t)) if is_syllable else t for t, is_syllable in tokens)
    exact = "".join(_code(t) if is_syllable else t for t, is_syllable in tokens)
    return folded, exact


def sound_key(text: str) -> str:
    """Map normalised text to one symbol per syllable; characters that are not Chinese stay as they are.

    Syllables are folded (zh/z, ing/in…), so common input confusions share a key. A run of Latin
    letters that spells two or more pinyin syllables is keyed as those syllables (the key is then
    shorter than the text).
    """
    return sound_keys(text)[0]
