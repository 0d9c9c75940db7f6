"""``liuyu messaging``: set up a webhook provider and a template, record consent, send, deliver, look."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from click.testing import Result
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from liuyu.cli.main import app
from liuyu.config import get_settings
from liuyu.services import accounts
from liuyu.services.ingest import ingest_events
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork
from tests.integration.messaging_fixtures import person
from tests.integration.test_messaging_delivery import Gateway, gateway  # noqa: F401  (the fixture)

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, ["messaging", *args])


@pytest.fixture
def env(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LIUYU_DATABASE_URL", db_url)
    monkeypatch.setenv("LIUYU_WORKSPACE", "qimu")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()  # settings are read once per process; each test has its own database
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        ingest_events(uow.ingest, ws, [person("alice", phone="13800000001")])
        uow.commit()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("env")
def test_an_operator_sets_up_a_webhook_sends_by_hand_and_sees_it_delivered(
    engine: Engine,
    gateway: Gateway,  # noqa: F811
) -> None:
    with engine.connect() as conn:
        alice = str(conn.execute(select(t.customers.c.id)).scalar_one())
    config = json.dumps({"url": gateway.url("/hooks")})
    made = cli("provider", "webhook", "--kind", "webhook", "--name", "CRM", "--config", config)
    assert made.exit_code == 0, made.stderr
    assert json.loads(made.stdout[: made.stdout.rindex("}") + 1])["secret"].startswith("whsec_")  # then the note
    assert cli("template", "webhook", "会员日", "--body", "{{name}}，会员日八折").exit_code == 0
    cli("guardrails", "--change", '{"quiet_hours": null}')
    consent = cli("consent", alice, "webhook", "opt_in", "--source", "门店", "--evidence", "签字同意")
    assert consent.exit_code == 0, consent.stderr

    sent = cli("send", alice, "webhook", "会员日", "--vars", '{"name": "小鹿"}', "--key", "k1")
    assert json.loads(sent.stdout)["queued"] is True
    delivered = cli("deliver")
    assert json.loads(delivered.stdout)["sent"] == 1
    assert gateway.calls[0][2]["text"] == "小鹿，会员日八折"

    decisions = json.loads(cli("decisions", alice).stdout)["sends"]
    assert [(d["decision"], d["delivery_status"]) for d in decisions] == [("queued", "sent")]
    bad = cli("send", alice, "fax", "会员日")
    assert bad.exit_code == 1 and "channel" in bad.stderr
