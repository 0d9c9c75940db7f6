"""The fixed command line: init, import, stats, customers, rebuild — run as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from liuyu.storage import tables as t
from liuyu.storage.db import make_engine

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"
HEADER = (
    "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,订单状态,收货人姓名,联系手机,"
    "订单创建时间,订单付款时间,宝贝标题,宝贝种类,宝贝总数量,退款金额,buyer_open_uid\n"
)


def liuyu(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "liuyu.cli.main", *args], env=env, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"liuyu {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[2] / "src")
    return {
        **os.environ,
        "LIUYU_DATABASE_URL": db_url,
        "LIUYU_ERROR_DIR": str(tmp_path / "errors"),
        "PYTHONPATH": src,
        "COLUMNS": "200",
    }


def stats(env: dict[str, str]) -> dict[str, int]:
    return json.loads(liuyu(env, "stats", "--workspace", "qimu", "--json").stdout)


def write_orders(path: Path, count: int, bad_every: int = 0) -> None:
    rows = [HEADER]
    for n in range(count):
        total = "-5.00" if bad_every and n % bad_every == 7 else f"{100 + n % 50}.00"
        day = f"2026-10-{1 + n % 28:02d}"
        rows.append(
            f'="{3000000000000000000 + n}",buyer{n % 900},{total},0.00,{total},{total},交易成功,张**,'
            f"138****{n % 10000:04d},{day} 10:00:00,{day} 10:01:00,每日坚果 30袋,1,1,0.00,uid-{n % 900}\n"
        )
    path.write_text("".join(rows), encoding="gb18030")


def test_init_import_stats_and_reimport(env: dict[str, str], tmp_path: Path) -> None:
    out = liuyu(env, "init", "--workspace", "qimu", "--email", "admin@qimu.cn", "--password", "黑武士-手柄-2026").stdout
    assert "admin@qimu.cn" in out and "ly_" in out
    first = json.loads(
        liuyu(
            env, "import", "orders", "tmall", str(DATA / "tmall_orders_gb18030.csv"), "--workspace", "qimu", "--json"
        ).stdout
    )
    counts = stats(env)
    again = json.loads(
        liuyu(
            env, "import", "orders", "tmall", str(DATA / "tmall_orders_gb18030.csv"), "--workspace", "qimu", "--json"
        ).stdout
    )
    assert first["stored"] > 0 and again["stored"] == 0 and again["duplicate"] == first["stored"]
    assert stats(env) == counts
    assert counts["orders"] > 0 and counts["events"] == first["stored"]
    assert counts["rejected"] == first["rejected"]
    if first["rejected"]:
        assert Path(first["error_file"]).read_text(encoding="utf-8-sig").startswith("line,field,value,reason")
    found = json.loads(liuyu(env, "customers", "find", "tb小鹿", "--workspace", "qimu", "--json").stdout)
    assert found, "the Tmall buyer nick finds the customer"
    shown = json.loads(liuyu(env, "customers", "show", str(found[0]["id"]), "--workspace", "qimu", "--json").stdout)
    assert shown["orders"] and {i["kind"] for i in shown["identifiers"]} >= {"tmall_nick"}


def test_a_killed_import_resumes_to_exactly_the_uninterrupted_counts(env: dict[str, str], tmp_path: Path) -> None:
    big = tmp_path / "orders.csv"
    write_orders(big, 3000, bad_every=500)
    liuyu(env, "init", "--workspace", "qimu", "--password", "黑武士-手柄-2026")
    slow = {**env, "LIUYU_IMPORT_BATCH_SIZE": "50"}
    engine = make_engine(env["LIUYU_DATABASE_URL"])

    def stored() -> int:  # read straight from the database: polling through the CLI is too slow
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t.events)).scalar_one())

    proc = subprocess.Popen(
        [sys.executable, "-m", "liuyu.cli.main", "import", "orders", "tmall", str(big), "--workspace", "qimu"],
        env=slow,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while stored() < 500 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    engine.dispose()
    interrupted = stats(env)["events"]
    liuyu(slow, "import", "orders", "tmall", str(big), "--workspace", "qimu")
    resumed = stats(env)

    other = {**env, "LIUYU_DATABASE_URL": f"sqlite:///{tmp_path / 'clean.db'}"}
    liuyu(other, "init", "--workspace", "qimu", "--password", "黑武士-手柄-2026")
    liuyu(other, "import", "orders", "tmall", str(big), "--workspace", "qimu")
    clean = stats(other)
    assert 0 < interrupted < clean["events"], "the kill landed in the middle of the import"
    assert resumed == clean
    assert clean["rejected"] == 6


def test_rebuild_keeps_every_count(env: dict[str, str]) -> None:
    liuyu(env, "init", "--workspace", "qimu", "--password", "黑武士-手柄-2026")
    for kind, fmt, name in [("orders", "pos", "pos_receipts.csv"), ("app-logins", "app", "app_logins.csv")]:
        liuyu(env, "import", kind, fmt, str(DATA / name), "--workspace", "qimu")
    before = stats(env)
    liuyu(env, "rebuild", "--workspace", "qimu")
    assert stats(env) == before
