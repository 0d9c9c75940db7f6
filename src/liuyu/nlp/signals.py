"""Anger and escalation risk in service texts, from a lexicon of trigger phrases.

Review corpora do not teach these: a customer threatening 12315 may write no negative
adjective at all. Each rule below is data: (signal, kind, weight, pattern). The weights of the
triggers found are summed per signal; the sum gives the level (``LEVELS``). A trigger preceded
closely by a negation (不会 / 不想 / 没 …) does not count when the rule says so, so that
"不会给差评的" raises nothing. High anger adds one step to escalation: furious customers escalate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from liuyu.domain.text import Signals, Trigger

_NUM = "(?:[一二两三四五六七八九十几]|(?<!\\d)\\d{1,2}(?!\\d))"


@dataclass(frozen=True, slots=True)
class SignalRule:
    signal: str  # "anger" or "escalation"
    kind: str
    weight: int
    pattern: str
    negatable: bool = False


#: The lexicon. Patterns match the cleaned, lower-cased text (simplified, half-width).
RULES: tuple[SignalRule, ...] = (
    # Escalation: the customer threatens to take it outside the conversation.
    SignalRule(
        "escalation",
        "regulator_complaint",
        3,
        r"(?<!\d)(?:12315|12345)(?!\d)|消协|消费者协会|工商局?|市场监管|监管部门|质监局|(?:投诉|举报)(?:到|给|你们|你)",
        negatable=True,
    ),
    SignalRule("escalation", "complaint", 2, r"投诉|举报", negatable=True),
    SignalRule(
        "escalation",
        "public_exposure",
        3,
        r"曝光|发微博|上微博|黑猫投诉|找媒体|媒体|发抖音|发小红书|发朋友圈|让大家看看",
        negatable=True,
    ),
    SignalRule("escalation", "legal", 3, r"律师|起诉|法院|打官司|报警|走法律|法律途径|维权", negatable=True),
    SignalRule("escalation", "bad_review", 2, r"差评|一星|1星|零分", negatable=True),
    SignalRule("escalation", "refund_demand", 2, r"退款|退钱|退货|赔偿|赔钱|索赔|假一赔|退一赔|全额退"),
    SignalRule(
        "escalation", "supervisor", 2, r"叫你们?(?:领导|经理|主管|负责人)|找你们?(?:领导|经理|主管|负责人)|换个人"
    ),
    SignalRule("escalation", "churn", 1, r"再也不(?:买|来|会买)|最后一次(?:买|来)|拉黑|取消会员|注销"),
    # Anger: how the customer feels right now.
    SignalRule(
        "anger",
        "insult",
        3,
        r"骗子|垃圾|傻[逼比b]|\bsb\b|煞笔|坑人|黑心|无良|奸商|智障|脑残|滚|他妈|妈的|tmd|什么玩意|什么破|狗屁|不要脸",
    ),
    SignalRule(
        "anger", "strong_negative", 2, r"气死|太过分|过分了|无语|恶心|失望透顶|忍无可忍|受够了|欺负人|耍我|糊弄"
    ),
    SignalRule(
        "anger",
        "urgency",
        2,
        r"快点|赶紧|到底|究竟|马上给|立刻|速度点|能不能快|还要等多久|"
        + _NUM
        + r"+次了|第"
        + _NUM
        + r"+次|多少次|好几次"
        r"|等了" + _NUM + r"+天|" + _NUM + r"+天了?还没|一直没人|没人回|没人管|不回复|不理人",
    ),
    SignalRule("anger", "exclamation", 1, r"[!?！？]{3,}"),
)

#: Summed weight at or above which a signal reaches each level.
LEVELS: tuple[tuple[int, str], ...] = ((5, "high"), (3, "medium"), (1, "low"))

_NEGATION = re.compile(r"(?:不会|不想|不打算|不至于|不用|不要|没有|没|别|不)$")
_COMPILED = tuple((rule, re.compile(rule.pattern)) for rule in RULES)
_STEP_UP = {"none": "low", "low": "medium", "medium": "high", "high": "high"}


def _level(weight: int) -> str:
    for floor, name in LEVELS:
        if weight >= floor:
            return name
    return "none"


def _negated(text: str, start: int) -> bool:
    # Look at the few characters before the trigger, allowing one filler such as 给/去/被.
    window = text[max(0, start - 3) : start]
    return bool(_NEGATION.search(window) or _NEGATION.search(window[:-1]))


def detect_signals(text: str) -> Signals:
    """Anger and escalation levels of one cleaned text, with the phrases that triggered them."""
    if not text:
        return Signals()
    lowered = text.lower()
    triggers: list[Trigger] = []
    taken: list[tuple[int, int]] = []
    weights = {"anger": 0, "escalation": 0}
    for rule, pattern in _COMPILED:
        for match in pattern.finditer(lowered):
            start, end = match.span()
            # A phrase counts once, for the first (most specific) rule that claims it.
            if any(start < e and s < end for s, e in taken):
                continue
            if rule.negatable and _negated(lowered, start):
                continue
            taken.append((start, end))
            triggers.append(Trigger(rule.signal, rule.kind, text[start:end], (start, end)))
            weights[rule.signal] += rule.weight
    anger = _level(weights["anger"])
    escalation = _level(weights["escalation"])
    if anger == "high":
        escalation = _STEP_UP[escalation]
    triggers.sort(key=lambda t: t.span)
    return Signals(anger=anger, escalation=escalation, triggers=tuple(triggers))
