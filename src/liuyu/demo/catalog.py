"""The demo brand's catalog and stores: 栖木 QIMU, home and lifestyle, with a game accessory line.

Durable goods (beds, mattresses, sofas) are bought once every few years, so their buyers are the
people journeys must stop promoting them to; consumables (bedding, pillows, aromatherapy, snacks,
towels) are what repeat buyers come back for.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

BRAND = "栖木 QIMU"
GAME_BRAND = "栖木·黑武士"


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    title: str
    category: str
    price: Decimal
    brand: str
    durable: bool
    colours: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Store:
    store_id: str
    name: str
    city: str
    province: str


_BED_SIZES = ("1.5m", "1.8m", "2.0m")
_SHEET_SIZES = ("1.5m床", "1.8m床", "2.0m床")
_NEUTRALS = ("奶白", "燕麦", "雾灰", "原木")

# sku, title, category, price (yuan), durable, colours, sizes
_ROWS: tuple[tuple[str, str, str, str, bool, tuple[str, ...], tuple[str, ...]], ...] = (
    ("QM-BED-001", "栖木 原木风实木床 北美白橡木", "床", "4999.00", True, ("原木", "胡桃"), _BED_SIZES),
    ("QM-BED-002", "栖木 云朵软包床 科技布", "床", "3599.00", True, ("奶白", "雾灰", "燕麦"), _BED_SIZES),
    ("QM-BED-003", "栖木 悬浮储物床 高箱", "床", "2899.00", True, ("雾灰", "原木"), _BED_SIZES),
    ("QM-BED-004", "栖木 儿童成长床 可调高", "床", "2399.00", True, ("原木", "薄荷绿"), ("1.2m", "1.5m")),
    ("QM-MAT-001", "栖木 云眠独立弹簧床垫 22cm", "床垫", "2999.00", True, (), _BED_SIZES),
    ("QM-MAT-002", "栖木 深睡乳胶床垫 泰国天然乳胶", "床垫", "3899.00", True, (), _BED_SIZES),
    ("QM-MAT-003", "栖木 护脊椰棕床垫 偏硬", "床垫", "1699.00", True, (), ("1.2m", *_BED_SIZES)),
    ("QM-MAT-004", "栖木 折叠记忆棉床垫 10cm", "床垫", "799.00", True, (), ("0.9m", "1.5m", "1.8m")),
    ("QM-SOF-001", "栖木 猫抓布直排沙发 三人位", "沙发", "5299.00", True, ("燕麦", "雾灰", "焦糖"), ("2.1m", "2.4m")),
    ("QM-SOF-002", "栖木 豆腐块模块沙发", "沙发", "6999.00", True, ("奶白", "雾灰"), ("三模块", "四模块")),
    ("QM-SOF-003", "栖木 懒人单人沙发 可躺", "沙发", "1299.00", True, ("焦糖", "墨绿", "奶白"), ()),
    ("QM-SOF-004", "栖木 真皮电动功能沙发", "沙发", "8999.00", True, ("深棕", "象牙白"), ("双人位", "三人位")),
    ("QM-BDG-001", "栖木 长绒棉四件套 100支", "床品", "699.00", False, _NEUTRALS, _SHEET_SIZES),
    ("QM-BDG-002", "栖木 水洗真丝四件套", "床品", "1299.00", False, ("香槟", "雾灰", "藕粉"), _SHEET_SIZES),
    ("QM-BDG-003", "栖木 A类婴儿纱夏凉被", "床品", "259.00", False, ("奶白", "浅蓝", "浅粉"), ("150x200", "200x230")),
    ("QM-BDG-004", "栖木 95白鹅绒冬被", "床品", "1599.00", False, ("白色",), ("200x230", "220x240")),
    ("QM-BDG-005", "栖木 冰丝凉席三件套", "床品", "399.00", False, ("浅灰", "米白"), _SHEET_SIZES),
    ("QM-PIL-001", "栖木 慢回弹记忆棉护颈枕", "枕头", "299.00", False, (), ("标准款", "加高款")),
    ("QM-PIL-002", "栖木 泰国乳胶枕 一对装", "枕头", "459.00", False, (), ()),
    ("QM-PIL-003", "栖木 荞麦壳草本枕", "枕头", "169.00", False, (), ()),
    ("QM-PIL-004", "栖木 羽绒枕芯 五星酒店款", "枕头", "399.00", False, (), ("中枕", "高枕")),
    ("QM-ARO-001", "栖木 无火香薰 白茶 200ml", "香薰", "129.00", False, (), ()),
    ("QM-ARO-002", "栖木 无火香薰 雪松 200ml", "香薰", "129.00", False, (), ()),
    ("QM-ARO-003", "栖木 助眠薰衣草枕头喷雾", "香薰", "89.00", False, (), ()),
    ("QM-ARO-004", "栖木 大豆蜡香薰蜡烛 礼盒", "香薰", "199.00", False, ("琥珀", "雾白"), ()),
    ("QM-ARO-005", "栖木 超声波香薰机", "香薰", "259.00", False, ("原木", "白色"), ()),
    ("QM-SNK-001", "栖木 每日坚果 30袋装", "零食", "139.00", False, (), ()),
    ("QM-SNK-002", "栖木 冻干水果脆 混合装", "零食", "59.90", False, (), ()),
    ("QM-SNK-003", "栖木 夜读花草茶 组合", "零食", "79.00", False, (), ()),
    ("QM-SNK-004", "栖木 低糖燕麦能量棒 20支", "零食", "69.00", False, (), ()),
    ("QM-TWL-001", "栖木 新疆长绒棉毛巾 三条装", "毛巾", "89.00", False, ("白色", "浅灰", "雾蓝"), ()),
    ("QM-TWL-002", "栖木 A类纯棉浴巾", "毛巾", "129.00", False, ("白色", "燕麦", "雾蓝"), ()),
    ("QM-TWL-003", "栖木 速干干发帽 两只装", "毛巾", "49.90", False, ("浅粉", "浅灰"), ()),
    ("QM-GAM-001", "黑武士 无线游戏手柄 霍尔摇杆", "游戏配件", "299.00", False, ("黑武士", "白骑士"), ()),
    ("QM-GAM-002", "黑武士 三模机械键盘 热插拔", "游戏配件", "499.00", False, ("黑武士",), ("87键", "108键")),
    ("QM-GAM-003", "黑武士 电竞椅 人体工学", "游戏配件", "1599.00", True, ("黑武士", "白骑士"), ()),
    ("QM-GAM-004", "黑武士 手柄充电座", "游戏配件", "99.00", False, ("黑武士",), ()),
)


def demo_catalog() -> list[Product]:
    """Every product of the demo brand; a fresh list, so callers may filter or sort it freely."""
    return [
        Product(
            sku=sku,
            title=title,
            category=category,
            price=Decimal(price),
            brand=GAME_BRAND if category == "游戏配件" else BRAND,
            durable=durable,
            colours=colours,
            sizes=sizes,
        )
        for sku, title, category, price, durable, colours, sizes in _ROWS
    ]


# city, province, how many stores; 30 stores in 12 cities
_STORE_CITIES = (
    ("上海", "上海", ("静安", "徐汇", "浦东陆家嘴", "长宁", "闵行")),
    ("北京", "北京", ("朝阳三里屯", "海淀五道口", "西城金融街", "通州")),
    ("杭州", "浙江", ("西湖湖滨", "滨江", "余杭未来科技城")),
    ("深圳", "广东", ("南山科技园", "福田", "宝安")),
    ("广州", "广东", ("天河", "海珠", "番禺")),
    ("成都", "四川", ("锦江春熙路", "高新")),
    ("南京", "江苏", ("新街口", "河西")),
    ("武汉", "湖北", ("江汉路", "光谷")),
    ("苏州", "江苏", ("工业园区", "姑苏")),
    ("重庆", "重庆", ("解放碑", "渝北")),
    ("西安", "陕西", ("小寨",)),
    ("长沙", "湖南", ("五一广场",)),
)

_CITY_CODES = {
    "上海": "SH",
    "北京": "BJ",
    "杭州": "HZ",
    "深圳": "SZ",
    "广州": "GZ",
    "成都": "CD",
    "南京": "NJ",
    "武汉": "WH",
    "苏州": "SU",
    "重庆": "CQ",
    "西安": "XA",
    "长沙": "CS",
}


def demo_stores() -> list[Store]:
    """The brand's 30 stores in 12 cities."""
    return [
        Store(f"QM-{_CITY_CODES[city]}-{n:02d}", f"栖木 {city}{district}店", city, province)
        for city, province, districts in _STORE_CITIES
        for n, district in enumerate(districts, start=1)
    ]
