"""What the demo's customers write: reviews, community posts and why they call the hotline.

Sentences are assembled from templates and per-category remarks, so the voice-of-customer
reports have something to find: praise, angry complaints, product suggestions, questions and the
price people would accept. All text here was written for liuyu.
"""

from __future__ import annotations

import random
from decimal import Decimal

from liuyu.demo.catalog import Product

CALL_REASONS = ("物流查询", "退换货", "安装预约", "产品咨询")

# Per category: what people praise, what they complain about, what they suggest.
_REMARKS: dict[str, dict[str, tuple[str, ...]]] = {
    "床": {
        "good": (
            "做工扎实，没有异味",
            "安装师傅很专业，半小时就装好了",
            "木纹很漂亮，睡着一点不晃",
            "床头靠着看书很舒服",
        ),
        "bad": (
            "有很重的油漆味",
            "翻身的时候吱吱响",
            "床板上有一道划痕",
            "安装师傅迟到了两个小时",
            "储物箱的气压杆太硬",
        ),
        "suggest": ("床头加个USB充电口", "出一款1.35m的小尺寸", "床腿再高一点，扫地机器人能进去", "提供旧床回收服务"),
    },
    "床垫": {
        "good": ("软硬适中，腰终于不酸了", "翻身不影响另一半", "没有甲醛味，孩子也能睡", "回弹很好，睡得很踏实"),
        "bad": (
            "太软了，睡了腰疼",
            "中间塌下去一块",
            "有股刺鼻的胶水味",
            "边缘支撑不够，坐床边会往下滑",
            "比描述的薄很多",
        ),
        "suggest": ("出一款两面软硬不同的", "试睡期延长到100晚", "床垫套做成可拆洗的", "提供上门测睡姿的服务"),
    },
    "沙发": {
        "good": ("坐感很舒服，陷进去就不想起来", "猫抓布真的不怕猫抓", "颜色很高级，和家里很搭", "坐垫回弹很快"),
        "bad": (
            "实物颜色和图片差很多",
            "坐了一个月坐垫就塌了",
            "线头很多，做工粗糙",
            "送货师傅把墙磕坏了",
            "坐垫太硬了",
        ),
        "suggest": ("沙发套可以单独买", "多出几个颜色，比如墨绿", "做一个小户型的双人位", "扶手加宽一点可以放杯子"),
    },
    "床品": {
        "good": ("面料很亲肤，洗了也不起球", "颜色很温柔，很有质感", "透气不闷热", "做工细致没有线头"),
        "bad": ("洗了一次就起球了", "掉色严重，把白衬衫都染了", "有股味道，洗了两次还在", "被套尺寸偏小"),
        "suggest": ("被套拉链改成隐藏式的", "出一个纯色的款式", "增加1.2m的尺寸", "送一个收纳袋"),
    },
    "枕头": {
        "good": ("高度刚好，颈椎舒服多了", "慢回弹，包裹感很好", "睡了一周再也不落枕了"),
        "bad": ("太高了，睡着脖子疼", "有很大的塑料味", "用了没多久就变形了", "枕套起球"),
        "suggest": ("出一个可以调高度的款", "多配一个替换枕套", "出儿童尺寸"),
    },
    "香薰": {
        "good": ("味道很高级，不刺鼻", "放在卧室睡得很香", "留香时间很长", "瓶子颜值很高"),
        "bad": ("味道太淡了，基本闻不到", "香味太冲了，闻着头晕", "漏液了，盒子都湿了", "用了一周就没味道了"),
        "suggest": ("出一个桂花味", "出小瓶装方便试香", "补充装便宜一点", "出车载款"),
    },
    "零食": {
        "good": ("很新鲜，坚果很脆", "每天一包刚刚好", "没有哈喇味，孩子很爱吃", "日期很新"),
        "bad": ("有几包坚果已经受潮了", "生产日期是半年前的", "分量太少了", "里面有一包是空的"),
        "suggest": ("出无盐的版本", "多加一点蔓越莓", "做大包装的家庭装", "少放一点葡萄干"),
    },
    "毛巾": {
        "good": ("很吸水，很柔软", "洗了好多次还是软软的", "一点都不掉毛"),
        "bad": ("掉毛严重", "根本不吸水", "洗了几次就变硬了", "颜色和图片不一样"),
        "suggest": ("出一个大尺寸的浴巾", "多一些颜色选择", "加一个挂绳"),
    },
    "游戏配件": {
        "good": ("手感很好，摇杆很跟手", "延迟很低，打游戏很爽", "续航很长，充一次玩一周", "按键反馈清脆"),
        "bad": ("连接老是断", "用了两个月摇杆就漂移了", "按键有异响", "蓝牙延迟很明显", "充电座接触不良"),
        "suggest": ("出一个透明外壳的版本", "支持Switch连接", "背键可以自定义", "出配套的收纳包"),
    },
}

_PRAISE = (
    "{title}收到了，{good}，{good2}，五星好评！",
    "第二次回购了，{good}，家里人都说好。",
    "{price}元入手的，{good}，性价比很高。",
    "选的{variant}，和图片一样，{good}。",
    "{good}，客服很耐心，物流也快，推荐！",
    "用了一段时间来追评：{good}，{good2}。",
    "朋友推荐买的，{good}，没有踩雷。",
    "618囤的货，{good}，下次活动还来。",
    "给爸妈买的，他们说{good}，很满意。",
    "本来没抱太大希望，结果{good}，惊喜！",
    "{good}，{good2}，已经推荐给同事了。",
    "门店体验过才下单的，{good}，和店里的一样。",
)
_MIXED = (
    "整体还行，{good}，但是{bad}。",
    "{bad}，不过{good}，给三星吧。",
    "{title}一般般，{bad}，这个价格有点不值。",
    "东西还可以，{good}，就是{bad}，希望改进。",
    "中规中矩吧，{bad}，客服态度倒是挺好的。",
)
_ANGRY = (
    "太失望了！{bad}，{bad2}，申请退货一直没人处理！",
    "{price}元买的{title}，{bad}，这质量对得起这个价吗？",
    "差评！{bad}，客服只会说亲亲抱歉，问题一点没解决。",
    "收到就发现{bad}，联系了三次客服都没回复，要求退款！",
    "物流太慢了，等了一个多星期才到，而且{bad}。",
    "再也不买了，{bad}，退款还要我自己出运费，气死了。",
    "{price}元就买了这个？{bad}，{bad2}，后悔死了。",
    "质量太差了，{bad}，已经申请退款，大家别买！",
    "客服推来推去，{bad}的问题拖了半个月，这就是大品牌？",
)
_SUGGESTIONS = (
    "建议{suggest}，我肯定会再买。",
    "{title}用着不错，希望能{suggest}。",
    "{title}挺好的，就是价格有点高，要是能降到{target}元以内我就再买一个。",
    "能不能{suggest}？评论区好多人都有这个需求。",
    "给产品经理提个建议：{suggest}。",
    "用了半年，整体满意，要是能{suggest}就完美了。",
    "{price}元的价格能接受，但是希望{suggest}。",
    "价格能不能再亲民一点？{target}元左右我觉得比较合理。",
)
_QUESTIONS = (
    "请问{title}适合小户型吗？买过的朋友说说体验。",
    "{title}现在下单多久能发货？有没有买过的说说。",
    "纠结{title}要不要买，{price}元值不值？",
    "有人用过{title}吗？听说{bad}，是真的吗？",
    "{title}和门店里的是同一款吗？线上线下价格一样吗？",
    "双十一{title}会降价吗？等等党求告知。",
)


def remarks(product: Product) -> dict[str, tuple[str, ...]]:
    return _REMARKS.get(product.category, _REMARKS["床品"])


def target_price(price: Decimal) -> int:
    """The price a hesitant customer names: about a quarter off, ending in 9 the way shops price."""
    wanted = int(price * Decimal("0.75"))
    step = 100 if wanted >= 300 else 10
    return max(9, wanted // step * step - 1)


def _fill(rng: random.Random, template: str, product: Product, variant: str = "") -> str:
    found = remarks(product)
    good, good2 = rng.sample(found["good"], 2)
    bad, bad2 = rng.sample(found["bad"], 2)
    return template.format(
        title=product.title,
        variant=variant or (product.colours[0] if product.colours else "这款"),
        price=f"{product.price:.0f}",
        target=target_price(product.price),
        good=good,
        good2=good2,
        bad=bad,
        bad2=bad2,
        suggest=rng.choice(found["suggest"]),
    )


def review_text(rng: random.Random, product: Product, variant: str, rating: int) -> str:
    """A review that matches its star rating: praise at 4-5, mixed at 3, angry at 1-2."""
    if rating >= 4:
        template = rng.choice(_PRAISE if rng.random() < 0.8 else _SUGGESTIONS)
    elif rating == 3:
        template = rng.choice(_MIXED)
    else:
        template = rng.choice(_ANGRY)
    return _fill(rng, template, product, variant)


def post_text(rng: random.Random, product: Product) -> tuple[str, int]:
    """A community post and the rating it implies (3 for a neutral question or suggestion)."""
    roll = rng.random()
    if roll < 0.35:
        return _fill(rng, rng.choice(_SUGGESTIONS), product), 3
    if roll < 0.65:
        return _fill(rng, rng.choice(_PRAISE), product), 5
    if roll < 0.8:
        return _fill(rng, rng.choice(_ANGRY), product), rng.choice((1, 2))
    return _fill(rng, rng.choice(_QUESTIONS), product), 3
