"""The demo's people: who they are, which channels they use, and what each channel knows of them.

A person is the ground truth the identity graph tries to recover. Each channel sees only its own
slice: marketplaces see a buyer key and masked contact data, the brand's own channels (app,
mini-program, store till, hotline) see the real phone and the WeChat union id.
"""

from __future__ import annotations

import random
import string
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate

from liuyu.demo.catalog import Store, demo_stores
from liuyu.demo.names import CITIES, EMAIL_DOMAINS, FEMALE_GIVEN, MALE_GIVEN, MOBILE_PREFIXES, SURNAMES

MARKETPLACES = ("tmall", "jd", "douyin")
OWNED = ("miniprogram", "app", "store", "wechat")

# Where people first meet the brand, and which channel they add later.
_HOME_CHANNELS = (
    ("tmall", 30),
    ("jd", 17),
    ("douyin", 13),
    ("miniprogram", 12),
    ("app", 8),
    ("store", 15),
    ("wechat", 5),
)
_EXTRA_CHANNELS = (
    ("miniprogram", 25),
    ("wechat", 25),
    ("store", 14),
    ("app", 16),
    ("tmall", 10),
    ("jd", 5),
    ("douyin", 5),
)

SEGMENTS = ("dormant", "occasional", "loyal")
_TOKEN = string.ascii_letters + string.digits + "_-"
_HEX = "0123456789abcdef"


@dataclass(slots=True)
class Person:
    """One real person behind the demo's events. ``channels`` starts with the one they came from."""

    idx: int
    name: str
    surname: str
    gender: str
    birthday: str
    city: str
    province: str
    phone: str
    channels: tuple[str, ...]
    segment: str
    favourites: tuple[str, ...]
    first_day: int
    last_day: int
    email: str | None = None
    old_phone: str | None = None
    phone_changed_at: datetime | None = None
    unionid: str | None = None
    oa_openid: str | None = None
    mp_openid: str | None = None
    mp_phone_authorized: bool = False
    app_user_id: str | None = None
    device_ids: tuple[str, ...] = ()
    app_wechat_login: bool = False
    member_no: str | None = None
    home_store: Store | None = None
    tmall_open_uid: str | None = None
    tmall_nick: str | None = None
    tmall_member: bool = False
    jd_pin: str | None = None
    douyin_open_id: str | None = None
    calls_hotline: bool = False
    traps: list[str] = field(default_factory=list)

    def phone_at(self, when: datetime) -> str:
        """The phone the person used at a moment: the old one until they changed numbers."""
        if self.old_phone and self.phone_changed_at and when < self.phone_changed_at:
            return self.old_phone
        return self.phone


def token(rng: random.Random, length: int, alphabet: str = _TOKEN) -> str:
    return "".join(rng.choices(alphabet, k=length))


def _weighted(pairs: tuple[tuple[str, float], ...]) -> tuple[list[str], list[float]]:
    return [p[0] for p in pairs], list(accumulate(p[1] for p in pairs))


class PeopleFactory:
    """Draws people one by one from a seeded random source; ids are unique by construction."""

    def __init__(self, rng: random.Random, days: int, start: datetime) -> None:
        self.rng = rng
        self.days = days
        self.start = start
        self.stores = demo_stores()
        self.store_cities = {s.city for s in self.stores}
        self._surname_cum = list(accumulate(s[2] for s in SURNAMES))
        self._city_cum = list(accumulate(c[2] for c in CITIES))
        self._home = _weighted(_HOME_CHANNELS)
        self._extra = _weighted(_EXTRA_CHANNELS)
        self._phones: set[str] = set()

    def _pick(self, names: list[str], cum: list[float]) -> str:
        return names[bisect(cum, self.rng.random() * cum[-1])]

    def new_phone(self) -> str:
        while True:
            number = "+86" + self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number not in self._phones:
                self._phones.add(number)
                return number

    def person(self, idx: int) -> Person:
        rng = self.rng
        surname, surname_pinyin, _ = SURNAMES[bisect(self._surname_cum, rng.random() * self._surname_cum[-1])]
        gender = "female" if rng.random() < 0.56 else "male"  # home goods buyers lean female
        pool = FEMALE_GIVEN if gender == "female" else MALE_GIVEN
        given = [rng.choice(pool) for _ in range(1 if rng.random() < 0.18 else 2)]
        city, province, _ = CITIES[bisect(self._city_cum, rng.random() * self._city_cum[-1])]
        born = date(1965, 1, 1) + timedelta(days=int(rng.triangular(0, 365 * 42, 365 * 28)))
        channels = self._channels(city)
        segment = rng.choices(SEGMENTS, weights=(35, 45, 20))[0]
        if segment == "dormant":  # came, bought, and has been silent for at least the last half year
            first_day = int(rng.random() * (self.days - 240))
            last_day = min(self.days - 181, first_day + rng.randrange(10, 120))
        else:  # more people met the brand early: the member base grows by accumulation
            first_day = int(rng.random() ** 1.3 * (self.days - 20))
            last_day = self.days - 1 if rng.random() < 0.8 else rng.randrange(first_day + 1, self.days)
        person = Person(
            idx=idx,
            name=surname + "".join(g[0] for g in given),
            surname=surname,
            gender=gender,
            birthday=born.isoformat(),
            city=city,
            province=province,
            phone=self.new_phone(),
            channels=channels,
            segment=segment,
            favourites=tuple(rng.sample(_FAVOURITE_POOL, 2)),
            first_day=first_day,
            last_day=max(last_day, first_day + 1),
        )
        if rng.random() < 0.3:
            local = surname_pinyin + "".join(g[1] for g in given) + str(rng.randrange(10, 99))
            person.email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
        self._ids(person)
        return person

    def _channels(self, city: str) -> tuple[str, ...]:
        rng = self.rng
        home = self._pick(*self._home)
        while home == "store" and city not in self.store_cities:
            home = self._pick(*self._home)
        chosen = [home]
        extra = 2 if rng.random() < 0.10 else 1 if rng.random() < 0.36 else 0
        while len(chosen) < 1 + extra:
            more = self._pick(*self._extra)
            if more not in chosen and (more != "store" or city in self.store_cities):
                chosen.append(more)
        if "miniprogram" in chosen and "wechat" not in chosen and rng.random() < 0.4:
            chosen.append("wechat")  # mini-program users often follow the official account too
        return tuple(chosen)

    def _ids(self, p: Person) -> None:
        rng = self.rng
        owned = [c for c in p.channels if c in OWNED]
        if "wechat" in p.channels or "miniprogram" in p.channels or rng.random() < 0.3 * len(owned):
            p.unionid = "o" + token(rng, 27)
        if "wechat" in p.channels:
            p.oa_openid = "oQm3" + token(rng, 24)
        if "miniprogram" in p.channels:
            p.mp_openid = "oMp7" + token(rng, 24)
            p.mp_phone_authorized = rng.random() < 0.7
        if "app" in p.channels:
            p.app_user_id = str(10_000_000 + p.idx * 13 + rng.randrange(13))
            p.device_ids = (token(rng, 32, _HEX),)
            p.app_wechat_login = p.unionid is not None and rng.random() < 0.4
        if "store" in p.channels or ("miniprogram" in p.channels and rng.random() < 0.35):
            p.member_no = f"QM{20_000_000 + p.idx * 7 + rng.randrange(7)}"
        if "store" in p.channels:
            local = [s for s in self.stores if s.city == p.city]
            p.home_store = rng.choice(local)
        if "tmall" in p.channels:
            p.tmall_open_uid = "AAH" + token(rng, 21, string.ascii_letters + string.digits)
            p.tmall_nick = rng.choice(("tb", "t_", "")) + (
                f"{rng.randrange(10**9, 10**10)}"
                if rng.random() < 0.5
                else f"{token(rng, 6, string.ascii_lowercase)}{rng.randrange(1000)}"
            )
            # Joining the brand's Tmall membership hands the phone over, which is how brands link them.
            p.tmall_member = len(p.channels) > 1 and rng.random() < 0.25
        if "jd" in p.channels:
            p.jd_pin = "jd_" + token(rng, 12, _HEX)
        if "douyin" in p.channels:
            p.douyin_open_id = "dy" + token(rng, 24, string.ascii_letters + string.digits)
        p.calls_hotline = rng.random() < 0.08


_FAVOURITE_POOL = ("床品", "枕头", "香薰", "零食", "毛巾", "游戏配件", "床品", "香薰", "零食")


def plant_traps(factory: PeopleFactory, people: list[Person]) -> None:
    """The cases identity resolution must get right, a few of each (at least one in any demo).

    - family: two people at one address share a tablet, so one device id carries two app accounts;
    - phone change: one member changes numbers, so the same account carries two verified phones;
    - namesake: two different people with the same name live in different cities.
    """
    rng = factory.rng
    count = max(1, len(people) // 5000) if len(people) >= 5 else 0
    picks = rng.sample(range(len(people)), 5 * count)
    for n in range(count):
        a, b, c, d, e = (people[i] for i in picks[5 * n : 5 * n + 5])
        _make_app_user(factory, a)
        _make_app_user(factory, b)
        b.name = a.surname + b.name[len(b.surname) :]
        b.surname = a.surname
        b.city, b.province = a.city, a.province
        b.device_ids = (*b.device_ids, a.device_ids[0])
        a.traps.append(f"family:{b.idx}")
        b.traps.append(f"family:{a.idx}")

        _make_app_user(factory, c)
        c.segment = "loyal"
        c.old_phone = c.phone
        c.phone = factory.new_phone()
        change_day = (c.first_day + c.last_day) // 2
        c.phone_changed_at = factory.start + timedelta(days=change_day, hours=10)
        c.traps.append("phone_change")

        _make_app_user(factory, d)
        _make_app_user(factory, e)
        other = [city for city in CITIES if city[0] != d.city]
        e.name, e.surname, e.gender = d.name, d.surname, d.gender
        e.city, e.province, _ = rng.choice(other)
        d.traps.append(f"namesake:{e.idx}")
        e.traps.append(f"namesake:{d.idx}")


def _make_app_user(factory: PeopleFactory, p: Person) -> None:
    rng = factory.rng
    if "app" not in p.channels:
        p.channels = (*p.channels, "app")
    if p.app_user_id is None:
        p.app_user_id = str(10_000_000 + p.idx * 13 + rng.randrange(13))
        p.device_ids = (token(rng, 32, _HEX),)
    if p.segment == "dormant":
        p.segment = "occasional"
        p.last_day = factory.days - 1
