"""Shared set-up for the messaging tests: a workspace, customers with addresses, providers, templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from liuyu.domain.customers.identifiers import make_identifier
from liuyu.domain.eventlog import Event
from liuyu.services import accounts, messaging_setup
from liuyu.services.ingest import ingest_events
from liuyu.services.messaging import SendDecision, SendRequest, request_send
from liuyu.storage import tables as t
from liuyu.storage.uow import SqlUnitOfWork

# Tuesday 2026-03-03 10:00 in Shanghai: outside quiet hours.
T0 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@dataclass
class Shop:
    engine: Engine
    ws: int
    alice: int  # phone, email and WeChat openid
    bob: int  # a phone only

    def send(
        self,
        customer: int,
        key: str,
        *,
        channel: str = "sms",
        purpose: str = "marketing",
        template: str = "复购提醒",
        now: datetime = T0,
        **variables: Any,
    ) -> SendDecision:
        request = SendRequest(
            workspace_id=self.ws,
            customer_id=customer,
            channel=channel,
            template=template,
            variables=variables or {"name": "小鹿", "coupon": "满199减30"},
            purpose=purpose,
            source="journey:7:step:second-touch",
            idempotency_key=key,
        )
        with SqlUnitOfWork(self.engine) as uow:
            decision = request_send(uow, request, now=now)
            uow.commit()
        return decision

    def opt_in(self, customer: int, channel: str = "sms", at: datetime = T0, status: str = "opt_in") -> None:
        with SqlUnitOfWork(self.engine) as uow:
            messaging_setup.record_consent(
                uow,
                self.ws,
                customer,
                channel,
                status,
                source="小程序注册页",
                evidence="☑ 我同意接收栖木的优惠短信",
                actor="test",
                at=at,
                now=at,
            )
            uow.commit()

    def sends(self, customer: int) -> list[dict[str, Any]]:
        with SqlUnitOfWork(self.engine) as uow:
            return list(messaging_setup.decisions_of(uow, self.ws, customer)["sends"])


def person(key: str, **ids: str) -> Event:
    identifiers = tuple(i for kind, value in ids.items() if (i := make_identifier(kind, value)))
    return Event(source="crm", external_id=key, type="identify", occurred_at=T0, identifiers=identifiers)


def open_shop(
    engine: Engine, *, sms_url: str = "http://127.0.0.1:9/sms", smtp_port: int = 25, slug: str = "qimu"
) -> Shop:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, slug)
        ingest_events(
            uow.ingest,
            ws,
            [
                person("alice", phone="13800000001", email="alice@example.com", wechat_openid="oAlice"),
                person("bob", phone="13900000002"),
            ],
            now=T0,
        )
        ids = dict(
            uow.conn.execute(
                select(t.identifiers.c.value, t.identifiers.c.customer_id).where(
                    t.identifiers.c.workspace_id == ws, t.identifiers.c.kind == "phone"
                )
            ).all()
        )
        messaging_setup.configure_provider(
            uow,
            ws,
            "sms",
            kind="http",
            name="阿里云短信",
            config={
                "url": sms_url,
                "auth": {"type": "header", "name": "X-Api-Key", "value": "sk-test"},
                "body": {"phone": "{{to_national}}", "template": "{{template_code}}", "params": {"name": "{{name}}"}},
                "success": {"status": [200], "field": "Code", "equals": ["OK"], "retry": ["Throttling"]},
            },
        )
        messaging_setup.configure_provider(
            uow, ws, "email", kind="smtp", name="relay", config={"host": "127.0.0.1", "port": smtp_port}
        )
        messaging_setup.save_template(
            uow, ws, "sms", "复购提醒", body="{{name}}您好，送您{{coupon}}优惠券", provider_template="SMS_1001"
        )
        messaging_setup.save_template(
            uow, ws, "email", "复购提醒", subject="{{name}}，栖木想你了", body="送您{{coupon}}优惠券"
        )
        uow.commit()
    return Shop(engine, ws, ids["+8613800000001"], ids["+8613900000002"])
