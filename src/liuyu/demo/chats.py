"""Customer-service chats of the demo brand: short conversations between a buyer and an agent.

Each conversation has a topic that follows what happened to the order (a late parcel, a return,
an installation, a question before buying, an unpaid order), so the service hub and the text
models have realistic material: polite questions, angry escalations, price haggling. All text
here was written for liuyu.
"""

from __future__ import annotations

import random

from liuyu.demo.catalog import Product
from liuyu.demo.texts import remarks, target_price

TOPICS = ("logistics", "return", "installation", "pre_sale", "complaint", "unpaid_reminder")

# The agent's first reply is the first of its topic; a second, when there is one, any of the rest.
# "D:" marks lines that only make sense for furniture (durable goods).

_OPENERS: dict[str, tuple[str, ...]] = {
    "logistics": (
        "你好，我的订单{order_id}怎么还没到？",
        "{title}到哪了？下单好几天了物流一直没动",
        "物流信息三天没更新了，是不是丢件了？",
        "在吗？我买的{title}今天能送到吗，家里没人",
    ),
    "return": (
        "{title}收到了，{bad}，我要退货",
        "买的{variant}不合适，能换一个吗？",
        "你好，订单{order_id}想申请退款，怎么操作？",
        "收到发现{bad}，可以退吗？",
    ),
    "installation": (
        "D:{title}什么时候能上门安装？",
        "D:请问{title}需要自己安装吗？",
        "安装师傅约好今天下午来，现在还没到，能帮忙问一下吗？",
    ),
    "pre_sale": (
        "D:{title}适合小户型吗？",
        "{title}有{variant}的现货吗？",
        "{title}双十一能便宜多少？",
        "{price}元有点贵，{target}能卖吗？能的话我马上下单",
        "{title}和别家的比有什么优势？",
    ),
    "complaint": (
        "你们这是什么服务！{bad}，找客服一直没人回！",
        "我要投诉！{bad}，{bad2}，必须给我一个说法",
        "第三次联系你们了，问题还是没解决，再不处理我就去12315投诉了",
    ),
}

_AGENT_REPLIES: dict[str, tuple[str, ...]] = {
    "logistics": (
        "亲，您好，这边马上帮您查询一下订单{order_id}哦~",
        "亲，您的包裹已经到{city}转运中心了，预计1-2天送达",
        "D:家具类商品需要预约送货，师傅会提前一天电话联系您的",
    ),
    "return": (
        "非常抱歉给您带来不好的体验，麻烦提供一下商品照片哦",
        "亲，支持7天无理由退换，运费险会自动理赔的",
        "已经为您登记换货，新的商品会在48小时内发出",
    ),
    "installation": (
        "亲，我们提供免费上门安装服务，师傅会在到货后48小时内联系您",
        "已经帮您联系安装师傅了，预计一小时内到达，非常抱歉让您久等",
    ),
    "pre_sale": (
        "亲，这款是我们的热销款哦，{good}",
        "现在下单可以领取满减券，到手价更优惠哦~",
        "{variant}目前有现货，今天下单明天就能发出",
        "亲，价格是统一的哦，不过可以送您一份小礼品",
    ),
    "complaint": (
        "非常抱歉！已经为您升级处理，主管会在24小时内联系您",
        "亲，给您添麻烦了，这边马上为您安排补偿方案",
    ),
    "unpaid_reminder": (
        "亲，您拍下的{title}还没有付款哦，库存紧张，付款后48小时内发货~",
        "亲，您的订单{order_id}还未支付，优惠券今晚24点就过期了哦",
    ),
}

_FOLLOW_UPS: dict[str, tuple[str, ...]] = {
    "logistics": ("好的，麻烦尽快", "能不能加急？周末要用", "上次也是这样，太慢了", "好的谢谢"),
    "return": ("照片已经发了，什么时候能退款？", "退款怎么还没到账？", "行，那我等新的", "好的，那我寄回去了"),
    "installation": ("好的，那我等电话", "能不能约周六上午？", "谢谢，麻烦了"),
    "pre_sale": ("好的，我再考虑一下", "那我现在下单了", "能便宜点我就买两个", "有没有赠品？"),
    "complaint": ("道歉有什么用，我要退款！", "好吧，希望这次能解决", "你们主管电话多少？"),
    "unpaid_reminder": ("好的，马上付", "不要了，取消吧", "等发工资再买"),
}

_CLOSINGS = (
    "不客气哦，祝您生活愉快~",
    "还有其他可以帮您的吗？",
    "感谢您的耐心，有问题随时找我们哦",
)


def conversation(
    rng: random.Random, topic: str, product: Product, *, variant: str = "", order_id: str = "", city: str = ""
) -> list[tuple[str, str]]:
    """A conversation as (role, text) pairs; role is ``customer`` or ``agent``.

    An unpaid-order reminder starts with the agent; every other topic starts with the customer.
    """
    words = remarks(product)
    good = rng.choice(words["good"])
    bad, bad2 = rng.sample(words["bad"], 2)
    values = {
        "title": product.title,
        "variant": variant or (product.colours[0] if product.colours else "这款"),
        "price": f"{product.price:.0f}",
        "target": target_price(product.price),
        "order_id": order_id or "这个订单",
        "city": city or "本地",
        "good": good,
        "bad": bad,
        "bad2": bad2,
    }
    turns: list[tuple[str, str]] = []
    if topic == "unpaid_reminder":
        turns.append(("agent", rng.choice(_fitting(_AGENT_REPLIES[topic], product)).format(**values)))
        turns.append(("customer", rng.choice(_FOLLOW_UPS[topic])))
        return turns
    turns.append(("customer", rng.choice(_fitting(_OPENERS[topic], product)).format(**values)))
    first, *rest = _fitting(_AGENT_REPLIES[topic], product)
    replies = [first, rng.choice(rest)] if rest and rng.random() < 0.5 else [first]
    for reply in replies:
        turns.append(("agent", reply.format(**values)))
        turns.append(("customer", rng.choice(_FOLLOW_UPS[topic])))
    if rng.random() < 0.6:
        turns.append(("agent", rng.choice(_CLOSINGS)))
    return turns


def _fitting(lines: tuple[str, ...], product: Product) -> list[str]:
    """The lines that fit the product, without their "D:" mark."""
    return [line.removeprefix("D:") for line in lines if product.durable or not line.startswith("D:")]
