"""The demo brand 栖木 QIMU: a seeded, deterministic stream of touchpoint events, and bench streams.

``make demo`` loads ``generate_demo()`` (and ``generate_texts()``) into a fresh workspace; the
benchmarks feed on ``bench_events()``. Nothing here reads files or the network.
"""

from __future__ import annotations

from liuyu.demo.bench import bench_events
from liuyu.demo.catalog import Product, Store, demo_catalog, demo_stores
from liuyu.demo.generator import demo_people, generate_demo
from liuyu.demo.people import Person
from liuyu.demo.voices import generate_chats, generate_texts

__all__ = [
    "Person",
    "Product",
    "Store",
    "bench_events",
    "demo_catalog",
    "demo_people",
    "demo_stores",
    "generate_chats",
    "generate_demo",
    "generate_texts",
]
