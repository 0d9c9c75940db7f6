"""Identity resolution of 1,000,000 identifiers with 20% cross-channel overlap, in memory.

Prints seconds for liuyu's resolver and the ratio to scipy's connected_components over the same
edges (the lower bound: plain graph components, without liuyu's rules, evidence or protections).
Run: .venv/bin/python -m bench.identity [N_IDENTIFIERS]
"""

from __future__ import annotations

import itertools
import random
import sys
from datetime import UTC, datetime

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bench.common import report, scale, timer
from liuyu.domain.customers.identifiers import Identifier
from liuyu.domain.customers.identity import IdentityGraph, ResolvedEvent

AT = datetime(2026, 11, 11, tzinfo=UTC)


def synthetic(n_identifiers: int, overlap: float = 0.2, seed: int = 7) -> list[ResolvedEvent]:
    """People with a platform id each; `overlap` of them also show up on a second channel with a phone."""
    rng = random.Random(seed)
    events: list[ResolvedEvent] = []
    seq = itertools.count(1)
    made = 0
    person = 0
    while made < n_identifiers:
        person += 1
        platform = Identifier(rng.choice(("tmall_open_uid", "jd_pin", "douyin_open_id")), f"p{person}")
        events.append(ResolvedEvent(next(seq), (platform,), AT))
        made += 1
        if rng.random() < overlap:
            phone = Identifier("phone", f"+86138{person:08d}", verified=True)
            app = Identifier("app_user_id", f"a{person}")
            events.append(ResolvedEvent(next(seq), (phone, app), AT))
            events.append(ResolvedEvent(next(seq), (phone, platform), AT))
            made += 2
    rng.shuffle(events)
    return sorted(events, key=lambda e: e.seq)


def components_baseline(events: list[ResolvedEvent]) -> float:
    index: dict[tuple[str, str], int] = {}
    rows, cols = [], []
    for event in events:
        ids = [index.setdefault(i.key, len(index)) for i in event.identifiers]
        for other in ids[1:]:
            rows.append(ids[0])
            cols.append(other)
    with timer() as took:
        n = len(index)
        graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
        connected_components(graph, directed=False)
    return took[0]


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else scale(1_000_000)
    events = synthetic(n)
    ids = itertools.count(1)
    graph = IdentityGraph(new_customer_id=lambda _seq: next(ids))
    with timer() as took:
        result = graph.resolve(events)
    baseline = components_baseline(events)
    customers = len(result.new_customers) - len(result.merges)
    report(
        f"identity resolution ({n:,} identifiers, {len(events):,} events, {customers:,} customers)",
        took[0],
        "s",
        "scipy connected_components",
        baseline,
        "(seconds: lower is better)",
    )


if __name__ == "__main__":
    main()
