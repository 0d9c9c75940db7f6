"""QA, the live word check, CSAT and reports over HTTP: roles, evidence, drill-down, CSV, tenancy."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from liuyu.jobs import service_quality
from tests.api.conftest import Api
from tests.api.test_conversations_api import channel_secret, chat, post_signed

RUBRIC = {"words": {"forbidden": ["不关我事"], "promises": ["保证"]}, "first_response_seconds": 60}


def seed(api: Api) -> int:
    """Two tmall chats; one answered with a forbidden word, resolved, then inspected by the job."""
    secret = channel_secret(api, api.qimu.id)
    post_signed(api, secret, chat(1, "我的快递三天没动了", key="buyer-1"))
    post_signed(api, secret, chat(2, "有没有大一号的", key="buyer-2"))
    admin = api.headers(api.qimu.admin_key)
    assert api.client.put("/api/v1/service/qa/rubric", json=RUBRIC, headers=admin).status_code == 200
    listed = api.client.get("/api/v1/conversations", headers=admin).json()["conversations"]
    cid = next(c["id"] for c in listed if c["conversation_key"] == "buyer-1")
    api.client.post(f"/api/v1/conversations/{cid}/replies", json={"text": "您好，这不关我事"}, headers=admin)
    api.client.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved", "assignee": "alice"}, headers=admin)
    api.client.put("/api/v1/service/qa/teams/alice", json={"team": "售后一组"}, headers=admin)
    service_quality.run(api.engine, datetime.now(UTC))  # type: ignore[arg-type]
    return int(cid)


def test_a_supervisor_sees_evidence_and_overrides_with_a_reason_an_agent_may_not(api: Api) -> None:
    cid = seed(api)
    admin, agent = api.headers(api.qimu.admin_key), api.headers(api.qimu.agent_key)
    result = api.client.get(f"/api/v1/service/qa/conversations/{cid}", headers=agent).json()
    assert result["scores"]["words"]["evidence"][0]["words"] == ["不关我事"]
    body = {"criterion": "words", "score": 20, "reason": "客户先骂人，主管认可"}
    assert (
        api.client.post(f"/api/v1/service/qa/conversations/{cid}/overrides", json=body, headers=agent).status_code
        == 403
    )
    no_reason = api.client.post(
        f"/api/v1/service/qa/conversations/{cid}/overrides", json={**body, "reason": " "}, headers=admin
    )
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    done = api.client.post(f"/api/v1/service/qa/conversations/{cid}/overrides", json=body, headers=admin).json()
    assert done["scores"]["words"]["override"]["original"] == 0 and done["overrides"][0]["by"]
    cards = api.client.get("/api/v1/service/qa/scorecards?by=team&period=month", headers=agent).json()["scorecards"]
    assert cards[0]["key"] == "售后一组" and cards[0]["overridden"] == 1


def test_a_bad_rubric_is_refused_with_the_field_and_the_old_one_stays(api: Api) -> None:
    admin = api.headers(api.qimu.admin_key)
    api.client.put("/api/v1/service/qa/rubric", json=RUBRIC, headers=admin)
    bad = api.client.put("/api/v1/service/qa/rubric", json={"weights": {"greeting": "many"}}, headers=admin)
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "weights.greeting"
    kept = api.client.get("/api/v1/service/qa/rubric", headers=admin).json()
    assert kept["version"] == 1 and kept["rubric"]["words"]["forbidden"] == ["不关我事"]
    hits = api.client.post("/api/v1/service/words/check", json={"text": "我保证明天到"}, headers=admin).json()["hits"]
    assert hits == [{"word": "保证", "kind": "promise", "start": 1, "end": 3}]


def test_every_report_figure_drills_down_to_its_conversations_and_exports_csv(api: Api) -> None:
    cid = seed(api)
    agent = api.headers(api.qimu.agent_key)
    csat = api.client.post(
        f"/api/v1/service/conversations/{cid}/csat", json={"score": 5, "external_id": "s1"}, headers=agent
    )
    assert csat.status_code == 201
    service_quality.run(api.engine, datetime.now(UTC))  # type: ignore[arg-type]
    report = api.client.get("/api/v1/service/reports?by=agent", headers=agent).json()
    alice = next(r for r in report["rows"] if r["key"] == "alice")
    assert (alice["conversations"], alice["csat_avg"], alice["qa_scored"]) == (1, 5.0, 1)
    assert alice["sla_met_pct"] == 0.0, "the chat is from March and was answered today: breached"
    drilled = api.client.get(alice["drill"]["csat_avg"], headers=agent).json()
    assert [c["conversation_id"] for c in drilled["conversations"]] == [cid]
    by_channel = api.client.get("/api/v1/service/reports?by=channel", headers=agent).json()["rows"]
    assert by_channel == [next(r for r in by_channel if r["key"] == "tmall")] and by_channel[0]["conversations"] == 2
    exported = api.client.get(by_channel[0]["drill"]["conversations"] + "&format=csv", headers=agent)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 2 and {r["conversation_key"] for r in rows} == {"buyer-1", "buyer-2"}
    other = api.client.get("/api/v1/service/reports?by=agent", headers=api.headers(api.other.admin_key)).json()
    assert other["rows"] == []
    assert (
        api.client.get(f"/api/v1/service/qa/conversations/{cid}", headers=api.headers(api.other.admin_key)).status_code
        == 404
    )
