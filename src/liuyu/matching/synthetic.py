"""Seeded synthetic Chinese customers with known look-alikes, for tests and timings.

Each person may appear a second time as another platform's buyer: the name masked or with
one character changed, the address written differently (with or without province, 十二号
or 12号), the phone masked. There are also traps: namesakes in the same city and family
members at the same address, who must not be suggested.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from liuyu.matching.customers import CustomerRecord

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力鹏飞斌宇浩凯瑞欣怡佳琪雪梅晨轩子涵思雨"
    "博俊峰成林志国海云波鑫春燕丹晓东亮婷颖倩宁琳慧彤悦涛宏光荣德新明天世永立振胜嘉晶"
)
_PLACES = [
    ("上海市", "上海市", ["浦东新区", "徐汇区", "闵行区", "静安区"]),
    ("北京市", "北京市", ["朝阳区", "海淀区", "丰台区", "西城区"]),
    ("广东省", "广州市", ["天河区", "越秀区", "番禺区", "白云区"]),
    ("广东省", "深圳市", ["南山区", "福田区", "宝安区", "龙岗区"]),
    ("浙江省", "杭州市", ["西湖区", "拱墅区", "余杭区", "滨江区"]),
    ("江苏省", "南京市", ["鼓楼区", "玄武区", "江宁区", "建邺区"]),
    ("江苏省", "苏州市", ["姑苏区", "工业园区", "吴中区", "相城区"]),
    ("四川省", "成都市", ["武侯区", "锦江区", "青羊区", "高新区"]),
    ("湖北省", "武汉市", ["江汉区", "武昌区", "洪山区", "汉阳区"]),
    ("陕西省", "西安市", ["雁塔区", "碑林区", "未央区", "长安区"]),
    ("山东省", "青岛市", ["市南区", "崂山区", "黄岛区", "李沧区"]),
    ("福建省", "厦门市", ["思明区", "湖里区", "集美区", "海沧区"]),
]
_ROADS = "中山人民解放建设和平文化新华胜利幸福长江黄河滨江学院科技青年东风光明"
_ROAD_KINDS = ["路", "大道", "街"]
_ESTATES = ["花园", "小区", "公寓", "新村", "家园", "苑"]
_PHONE_PREFIXES = ["130", "131", "132", "135", "136", "137", "138", "139", "150", "151", "152", "158", "159", "186"]
_PLATFORMS = ["tmall", "jd", "douyin", "wechat", "app", "store"]
_CN_DIGITS = "零一二三四五六七八九"


@dataclass(frozen=True, slots=True)
class SyntheticSet:
    """Customers and the pairs of customer ids that are truly one person (smaller id first)."""

    customers: list[CustomerRecord]
    true_pairs: set[tuple[int, int]]


def _chinese_number(number: int) -> str:
    if number < 10:
        return _CN_DIGITS[number]
    if number < 20:
        return "十" + (_CN_DIGITS[number % 10] if number % 10 else "")
    if number < 100:
        return _CN_DIGITS[number // 10] + "十" + (_CN_DIGITS[number % 10] if number % 10 else "")
    return "".join(_CN_DIGITS[int(digit)] for digit in str(number))


def _person(rng: random.Random) -> dict[str, object]:
    province, city, districts = rng.choice(_PLACES)
    surname = rng.choice(_SURNAMES)
    given = "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))
    return {
        "surname": surname,
        "name": surname + given,
        "province": province,
        "city": city,
        "district": rng.choice(districts),
        "road": "".join(rng.sample(_ROADS, 2)) + rng.choice(_ROAD_KINDS),
        "number": rng.randint(1, 999),
        "estate": "".join(rng.sample(_ROADS, 2)) + rng.choice(_ESTATES),
        "building": rng.randint(1, 30),
        "room": rng.randint(1, 30) * 100 + rng.randint(1, 8),
        "birthday": f"{rng.randint(1960, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "phone": rng.choice(_PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}",
    }


def _address(person: dict[str, object], rng: random.Random, *, variant: bool) -> str:
    number = int(person["number"])  # type: ignore[call-overload]
    building = int(person["building"])  # type: ignore[call-overload]
    number_text = _chinese_number(number) if variant and rng.random() < 0.4 else str(number)
    head = f"{person['province']}{person['city']}{person['district']}"
    if variant:
        head = rng.choice([head, f"{person['city']}{person['district']}", str(person["district"]), ""])
    tail = f"{person['road']}{number_text}号{person['estate']}{building}栋{person['room']}室"
    if variant and rng.random() < 0.3:
        tail = tail.replace("栋", "幢") if rng.random() < 0.5 else tail.replace(f"{building}栋", f"{building}号楼")
    return (head + (" " if variant and rng.random() < 0.3 else "") + tail).strip()


def _masked_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def _variant_name(name: str, rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.2:
        return name[0] + "*" * (len(name) - 1)
    if roll < 0.3 and len(name) > 1:
        return name[:-1] + rng.choice(_GIVEN)
    return name


def synthetic_customers(count: int, *, duplicate_rate: float = 0.1, seed: int = 7) -> SyntheticSet:
    """``count`` customers; about ``duplicate_rate`` of them are a second record of someone."""
    rng = random.Random(seed)
    customers: list[CustomerRecord] = []
    true_pairs: set[tuple[int, int]] = set()
    people: list[tuple[int, dict[str, object]]] = []
    next_id = 1
    while len(customers) < count:
        roll = rng.random()
        if people and roll < duplicate_rate:
            original_id, person = rng.choice(people)
            customers.append(_second_record(next_id, person, rng))
            true_pairs.add((original_id, next_id))
        else:
            person = _person(rng)
            if people and roll < duplicate_rate + 0.03:  # a family member or a namesake: a trap
                person = _relative_or_namesake(rng.choice(people)[1], person, rng)
            people.append((next_id, person))
            customers.append(_first_record(next_id, person, rng))
        next_id += 1
    return SyntheticSet(customers=customers, true_pairs=_close_transitively(true_pairs))


def _first_record(customer_id: int, person: dict[str, object], rng: random.Random) -> CustomerRecord:
    phone = str(person["phone"])
    return CustomerRecord(
        customer_id=customer_id,
        name=str(person["name"]),
        province=str(person["province"]),
        city=str(person["city"]),
        address=_address(person, rng, variant=False),
        birthday=str(person["birthday"]) if rng.random() < 0.6 else None,
        phones=[phone if rng.random() < 0.5 else _masked_phone(phone)] if rng.random() < 0.8 else [],
        platforms={rng.choice(_PLATFORMS)},
    )


def _second_record(customer_id: int, person: dict[str, object], rng: random.Random) -> CustomerRecord:
    phone = str(person["phone"])
    return CustomerRecord(
        customer_id=customer_id,
        name=_variant_name(str(person["name"]), rng),
        province=str(person["province"]) if rng.random() < 0.9 else None,
        city=str(person["city"]),
        address=_address(person, rng, variant=True) if rng.random() < 0.9 else None,
        birthday=str(person["birthday"]) if rng.random() < 0.4 else None,
        phones=[_masked_phone(phone)] if rng.random() < 0.7 else [],
        platforms={rng.choice(_PLATFORMS)},
    )


def _relative_or_namesake(other: dict[str, object], person: dict[str, object], rng: random.Random) -> dict[str, object]:
    if rng.random() < 0.5:  # family: same surname and home, own name, phone and birthday
        keys = ("surname", "province", "city", "district", "road", "number", "estate", "building", "room")
        person = {**person, **{key: other[key] for key in keys}}
        person["name"] = str(other["surname"]) + str(person["name"])[1:]
        return person
    # a namesake in the same city, living elsewhere
    return {
        **person,
        "name": other["name"],
        "surname": other["surname"],
        "province": other["province"],
        "city": other["city"],
    }


def _close_transitively(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Two second records of one person are also a true pair."""
    records_of: dict[int, list[int]] = {}
    for original, duplicate in pairs:
        records_of.setdefault(original, [original]).append(duplicate)
    closed: set[tuple[int, int]] = set()
    for ids in records_of.values():
        for i, left in enumerate(ids):
            for right in ids[i + 1 :]:
                closed.add((min(left, right), max(left, right)))
    return closed
