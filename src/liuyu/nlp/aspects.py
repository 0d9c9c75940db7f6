"""Suggestions and aspects: what a customer proposes, and which parts of the offer they judge.

A text is a suggestion when a proposal pattern matches (希望能出…, 建议…, 要是…就好了, 能不能加…);
the suggestion text is the sentence holding it. Aspects are found per clause (split on
punctuation): a clause naming an aspect keyword gets that aspect, and the clause's own
sentiment (the sentiment model run on the clause alone), so "质量很好，物流太慢" yields
quality/positive and logistics/negative. Both lexicons are data in this module.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from liuyu.domain.text import Aspect, Sentiment
from liuyu.nlp.sentiment import label_for

#: Aspect → keywords (simplified Chinese, matched as substrings of a clause).
ASPECT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "quality": ("质量", "做工", "品质", "材质", "用料", "耐用", "瑕疵", "破损", "坏了", "掉色", "开线", "起球", "质感"),
    "price": ("价格", "价钱", "性价比", "便宜", "贵", "划算", "实惠", "优惠", "价位", "降价", "打折", "折扣"),
    "logistics": ("物流", "快递", "发货", "送货", "配送", "到货", "送达", "骑手", "派送", "送餐", "送得", "送的"),
    "service": ("客服", "服务", "态度", "售后", "商家", "卖家", "店家", "老板", "服务员", "前台", "回复"),
    "packaging": ("包装", "盒子", "封口", "外包装", "箱子", "袋子", "漏了", "洒了"),
    "taste": ("味道", "口味", "口感", "好吃", "难吃", "咸", "太淡", "甜", "辣", "新鲜", "香", "腥"),
    "portion": ("分量", "份量", "量少", "量大", "量足", "量很", "量太"),
    "size_fit": ("尺码", "尺寸", "大小", "码数", "偏大", "偏小", "合身", "太大", "太小", "号码", "长度", "宽松", "紧"),
    "appearance": ("外观", "颜值", "颜色", "样子", "款式", "好看", "漂亮", "设计", "难看", "色差"),
    "function": (
        "功能",
        "效果",
        "性能",
        "好用",
        "难用",
        "操作",
        "续航",
        "电池",
        "屏幕",
        "系统",
        "声音",
        "噪音",
        "速度",
    ),
    "environment": ("环境", "房间", "卫生", "干净", "早餐", "设施", "装修", "安静", "吵", "氛围", "座位", "空间"),
    "location": ("位置", "交通", "地铁", "好找", "难找", "附近", "商圈", "停车", "地段"),
}

#: Proposal patterns; each must match within one sentence.
SUGGESTION_PATTERNS: tuple[str, ...] = (
    r"希望(?:能|可以|你们|商家|以后|下次)?(?:出|加|增加|推出|改进|改善|优化|提供|多|有|做)",
    r"建议",
    r"(?:要是|如果|若是|假如)[^。!?]{1,30}(?:就好了|就更好了|就完美了|会更好)",
    r"(?:能不能|能否|可不可以|可否|是否可以)(?:出|加|增加|多|做|改|推出|提供|再|考虑|把|有)",
    r"最好(?:能|可以|是)",
    r"期待(?:出|推出|新|下)",
    r"(?:应该|应当)(?:加|出|增加|改|多|提供)",
    r"提(?:个|点|一些)?(?:建议|意见)",
    r"(?:多出|多推出|出个|出一款|出一个)",
)

_CLAUSE = re.compile(r"[,.!?;~，。！？；、\n\s]+|(?=但是|但|不过|可是|然而|只是|就是有点)")
_COMMA_CLAUSE = re.compile(r"[^,.!?;~，。！？；\n]+")
_SUGGESTION = re.compile("|".join(f"(?:{p})" for p in SUGGESTION_PATTERNS))
_KEYWORD_TO_ASPECT = {keyword: aspect for aspect, keywords in ASPECT_KEYWORDS.items() for keyword in keywords}
_KEYWORD = re.compile("|".join(sorted(map(re.escape, _KEYWORD_TO_ASPECT), key=len, reverse=True)))


def find_suggestion(text: str) -> str | None:
    """The clauses of a cleaned text that propose an improvement, or None.

    The suggestion text runs from the start of the clause where the proposal begins to the end
    of the clause where the pattern ends (so 要是能便宜点,就好了 stays whole).
    """
    match = _SUGGESTION.search(text)
    if match is None:
        return None
    start, end = match.start(), match.end()
    for clause in _COMMA_CLAUSE.finditer(text):
        if clause.start() <= match.start() < clause.end():
            start = clause.start()
        if clause.start() < match.end() <= clause.end():
            end = clause.end()
    return text[start:end].strip()


def aspect_clauses(text: str) -> list[tuple[str, str]]:
    """(aspect, clause) pairs of a cleaned text, each aspect once per clause, in text order."""
    pairs: list[tuple[str, str]] = []
    for clause in _CLAUSE.split(text):
        if not clause:
            continue
        seen: set[str] = set()
        for match in _KEYWORD.finditer(clause):
            aspect = _KEYWORD_TO_ASPECT[match.group(0)]
            if aspect not in seen:
                seen.add(aspect)
                pairs.append((aspect, clause))
    return pairs


#: Share of the whole text's score in an aspect's score (see ``tag_aspects``).
CONTEXT_WEIGHT = 0.5

#: A clause whose score is this far from 0.5 or more keeps its own verdict.
CONFIDENT = 0.4


def tag_aspects(
    texts: Sequence[str],
    judge: Callable[[list[str]], list[Sentiment]],
    overall: Sequence[Sentiment] | None = None,
) -> list[list[Aspect]]:
    """Aspects with clause-level sentiment for a batch; ``judge`` rates all clauses in one call.

    With ``overall`` (the sentiment of each whole text), an unsure clause (score within
    ``CONFIDENT`` of 0.5) gets ``(1 - CONTEXT_WEIGHT) * clause + CONTEXT_WEIGHT * text``: a short
    clause alone (服务员都是小跑状) often carries too little to judge, and the text around it helps.
    A confident clause (物流太慢了) keeps its own verdict.
    """
    per_text = [aspect_clauses(text) for text in texts]
    clauses = sorted({clause for pairs in per_text for _, clause in pairs})
    verdicts = dict(zip(clauses, judge(clauses), strict=True)) if clauses else {}
    tagged = []
    for i, pairs in enumerate(per_text):
        aspects = []
        for aspect, clause in pairs:
            score = verdicts[clause].score
            if overall is not None and abs(score - 0.5) < CONFIDENT:
                score = (1 - CONTEXT_WEIGHT) * score + CONTEXT_WEIGHT * overall[i].score
            aspects.append(Aspect(aspect, label_for(score), clause))
        tagged.append(aspects)
    return tagged
