"""The knowledge base on a real database: documents to chunks, FAQ mining, suggestions, gaps, the bot."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from liuyu.domain.errors import InvalidInput
from liuyu.services import accounts, bot_first, inbox, knowledge
from liuyu.storage.uow import SqlUnitOfWork

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

NOTES = "第一段：发票在订单详情里申请。\n\n第二段：电子发票当天开出。"
RETURNS_MD = """# 售后政策

## 七天无理由退货

签收后7天内，商品完好可以申请七天无理由退货，运费险会自动理赔。

## 床垫试睡

床垫支持100晚试睡，不满意可以退，需要保留原包装。
"""

INSTALL_HTML = """<html><head><title>安装服务</title><script>var x = 1;</script></head><body>
<h1>上门安装</h1><p>家具到货后48小时内，安装师傅会电话联系您预约上门时间。</p>
<h2>安装费用</h2><ul><li>床和衣柜免费安装。</li><li>偏远地区加收远程费。</li></ul></body></html>"""


def quiet(texts: list[str]) -> list[dict[str, Any] | None]:
    return [{"anger": "none", "escalation": "none", "sentiment": None, "intent": None, "entities": []} for _ in texts]


def docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("会员积分", level=1)
    document.add_heading("积分有效期", level=2)
    document.add_paragraph("积分自获得之日起12个月内有效，到期自动清零。")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bytes(text: str) -> bytes:
    """A one-page PDF with one line of Helvetica text, written by hand (offsets computed)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.fixture
def workspace(engine: Engine) -> int:
    with SqlUnitOfWork(engine) as uow:
        ws = accounts.create_workspace(uow.accounts, "qimu")
        uow.commit()
    return ws


def store(engine: Engine, ws: int, name: str, data: bytes, now: datetime = T0) -> dict[str, Any]:
    doc = knowledge.prepare_document(name, data)
    with SqlUnitOfWork(engine) as uow:
        done = knowledge.store_document(uow, ws, doc, now)
        uow.commit()
    return done


def chat(
    engine: Engine, ws: int, key: str, turns: list[tuple[str, str]], *, status: str = "resolved", nick: str = ""
) -> int:
    """A conversation through the inbox: customer turns received, agent turns replied."""
    with SqlUnitOfWork(engine) as uow:
        conversation_id = 0
        for n, (who, text) in enumerate(turns):
            at = T0 + timedelta(minutes=n)
            if who == "customer":
                item = inbox.parse_message(
                    "tmall",
                    {"message_id": f"{key}-{n}", "conversation_key": key, "text": text, "sent_at": at.isoformat()}
                    | ({"sender": {"tmall_nick": nick}} if nick else {}),
                )
                conversation_id = inbox.receive_messages(uow, ws, [item], analyzer=quiet, now=at).conversations[0]
            else:
                inbox.reply(uow, ws, conversation_id, text, who, now=at)
        inbox.change_conversation(uow, ws, conversation_id, status=status)
        uow.commit()
    return conversation_id


def test_every_document_kind_becomes_chunks_that_name_their_heading(engine: Engine, workspace: int) -> None:
    made = [
        store(engine, workspace, "returns.md", RETURNS_MD.encode()),
        store(engine, workspace, "install.html", INSTALL_HTML.encode()),
        store(engine, workspace, "points.docx", docx_bytes()),
        store(engine, workspace, "shipping.pdf", pdf_bytes("Orders ship within 48 hours of payment.")),
        store(
            engine,
            workspace,
            "notes.txt",
            "第一段：发票在订单详情里申请。\n\n第二段：电子发票当天开出。".encode("gb18030"),
        ),
    ]
    assert [m["status"] for m in made] == ["created"] * 5
    with SqlUnitOfWork(engine) as uow:
        by_name = {a["name"]: a for a in uow.knowledge.articles(workspace)}
        chunks = {name: uow.knowledge.chunks(workspace, a["id"]) for name, a in by_name.items()}
    assert by_name["returns.md"]["title"] == "售后政策"
    assert [c["heading"] for c in chunks["returns.md"]] == ["售后政策 › 七天无理由退货", "售后政策 › 床垫试睡"]
    assert by_name["install.html"]["title"] == "上门安装"
    assert "var x" not in " ".join(c["text"] for c in chunks["install.html"])
    assert chunks["install.html"][-1]["heading"] == "上门安装 › 安装费用"
    assert chunks["points.docx"][0]["heading"] == "会员积分 › 积分有效期"
    assert "48 hours" in chunks["shipping.pdf"][0]["text"]
    assert "电子发票" in chunks["notes.txt"][0]["text"]


def test_the_same_file_again_changes_nothing_and_a_changed_one_replaces_its_chunks(
    engine: Engine, workspace: int
) -> None:
    store(engine, workspace, "returns.md", RETURNS_MD.encode())
    with SqlUnitOfWork(engine) as uow:
        before = uow.knowledge.revision(workspace)
    assert store(engine, workspace, "returns.md", RETURNS_MD.encode())["status"] == "unchanged"
    changed = store(engine, workspace, "returns.md", RETURNS_MD.replace("100晚", "60晚").encode())
    with SqlUnitOfWork(engine) as uow:
        chunks = uow.knowledge.chunks(workspace, changed["article_id"])
        assert uow.knowledge.revision(workspace) != before
        assert len(uow.knowledge.articles(workspace)) == 1
    assert changed["status"] == "updated"
    assert "60晚" in chunks[1]["text"] and len(chunks) == 2


def test_a_file_that_cannot_be_read_is_refused_naming_the_file(engine: Engine, workspace: int) -> None:
    with pytest.raises(InvalidInput, match="pdf"):
        knowledge.prepare_document("broken.pdf", b"not a pdf at all")
    with pytest.raises(InvalidInput, match="unsupported"):
        knowledge.prepare_document("sheet.xlsx", b"x")
    with pytest.raises(InvalidInput, match="no text"):
        knowledge.prepare_document("empty.md", b"# \n\n")


def test_faq_pairs_are_mined_once_from_resolved_conversations_without_contacts(engine: Engine, workspace: int) -> None:
    answer = "亲，支持7天无理由退货，运费险会自动理赔的"
    chat(engine, workspace, "a", [("customer", "买的床垫不合适能退吗"), ("user:ann", answer), ("customer", "好的谢谢")])
    chat(engine, workspace, "b", [("customer", "买的床垫不合适能退吗"), ("user:bob", answer)])
    chat(
        engine, workspace, "c", [("customer", "我电话13800138000，发票怎么开"), ("user:ann", "在订单详情里申请发票哦")]
    )
    chat(
        engine, workspace, "d", [("customer", "还没解决的问题在这里"), ("user:ann", "正在处理中请稍等")], status="open"
    )
    chat(engine, workspace, "e", [("customer", "能不能转人工"), (knowledge.BOT_ACTOR, "正在为您转接人工客服")])

    def mine() -> knowledge.MineReport:
        return knowledge.mine_faqs(lambda: SqlUnitOfWork(engine), workspace, now=T0)

    first = mine()
    assert (first.conversations, first.pairs, first.new) == (4, 3, 2)
    assert mine().conversations == 0, "mined conversations are not mined again"
    with SqlUnitOfWork(engine) as uow:
        faqs = {f["question"]: f for f in uow.knowledge.faqs(workspace)}
    assert faqs["买的床垫不合适能退吗"]["support"] == 2
    assert faqs["买的床垫不合适能退吗"]["answer"] == answer
    assert "我电话[手机号]，发票怎么开" in faqs
    assert not any("转人工" in q for q in faqs), "bot replies are not agent answers"


def test_suggestions_come_from_articles_and_faqs_with_a_cached_index(engine: Engine, workspace: int) -> None:
    store(engine, workspace, "returns.md", RETURNS_MD.encode())
    chat(engine, workspace, "a", [("customer", "发票在哪里开"), ("user:ann", "订单详情页点申请发票就可以")])
    knowledge.mine_faqs(lambda: SqlUnitOfWork(engine), workspace, now=T0)
    cache = knowledge.KnowledgeCache(use_embeddings=False)
    with SqlUnitOfWork(engine) as uow:
        returns = knowledge.suggest(cache, uow, workspace, "床垫试睡不满意可以退吗")
        invoice = knowledge.suggest(cache, uow, workspace, "发票在哪里开")
        nothing = knowledge.suggest(cache, uow, workspace, "北京明天天气")
    assert returns[0].source == "chunk" and returns[0].heading == "售后政策 › 床垫试睡"
    assert returns[0].title == "售后政策" and 0 < returns[0].confidence <= 1
    assert invoice[0].source == "faq" and invoice[0].text == "订单详情页点申请发票就可以"
    assert nothing == []
    assert cache.builds == 1, "searches reuse the index until the knowledge base changes"
    store(engine, workspace, "install.html", INSTALL_HTML.encode())
    with SqlUnitOfWork(engine) as uow:
        found = knowledge.suggest(cache, uow, workspace, "安装师傅什么时候联系我")
    assert cache.builds == 2 and found[0].title == "上门安装"


def test_usage_stale_articles_and_gaps_are_reported(engine: Engine, workspace: int) -> None:
    store(engine, workspace, "returns.md", RETURNS_MD.encode(), now=T0 - timedelta(days=400))
    store(engine, workspace, "install.html", INSTALL_HTML.encode(), now=T0)
    conversation_id = chat(engine, workspace, "q", [("customer", "床垫试睡不满意可以退吗")], status="open")
    other_id = chat(engine, workspace, "z", [("customer", "你们老板是谁")], status="open")
    cache = knowledge.KnowledgeCache(use_embeddings=False)
    with SqlUnitOfWork(engine) as uow:
        shown = knowledge.suggestions_for_conversation(uow, workspace, conversation_id, cache=cache, now=T0)
        missing = knowledge.suggestions_for_conversation(uow, workspace, other_id, cache=cache, now=T0)
        top = shown["suggestions"][0]
        message_id = shown["message"]["id"]
        for action in ("inserted", "helpful", "helpful"):  # the repeated click counts once
            knowledge.record_feedback(
                uow, workspace, conversation_id, message_id=message_id, source="chunk",
                source_id=top["source_id"], action=action, actor="user:ann", now=T0,
            )  # fmt: skip
        install = uow.knowledge.index_chunks(workspace)[-1]
        knowledge.record_feedback(
            uow, workspace, conversation_id, message_id=message_id, source="chunk",
            source_id=install["id"], action="unhelpful", actor="user:ann", now=T0 + timedelta(hours=1),
        )  # fmt: skip
        uow.commit()
    assert not shown["gap"] and missing["gap"] and missing["suggestions"] == []
    with SqlUnitOfWork(engine) as uow:
        report = knowledge.knowledge_report(uow, workspace, stale_days=180, now=T0 + timedelta(days=1))
    articles = {a["name"]: a for a in report["articles"]}
    assert (articles["returns.md"]["inserted"], articles["returns.md"]["helpful"]) == (1, 1)
    assert articles["returns.md"]["stale_reasons"] == ["not updated for 180 days"]
    assert articles["install.html"]["stale_reasons"] == ["marked unhelpful since its last update"]
    assert [(g["reason"], g["question"]) for g in report["gaps"]] == [("no_suggestion", "你们老板是谁")]


def test_the_bot_answers_with_citations_hands_off_and_reports_containment(engine: Engine, workspace: int) -> None:
    store(engine, workspace, "returns.md", RETURNS_MD.encode())
    cache = knowledge.KnowledgeCache(use_embeddings=False)
    with SqlUnitOfWork(engine) as uow:
        bot_first.configure_bot(uow, workspace, "tmall", enabled=True, threshold=0.5)
        uow.commit()

    def customer(key: str, n: int, text: str, at: datetime, analysis: Any = quiet) -> list[dict[str, Any]]:
        item = inbox.parse_message(
            "tmall", {"message_id": f"{key}-{n}", "conversation_key": key, "text": text, "sent_at": at.isoformat()}
        )
        with SqlUnitOfWork(engine) as uow:
            inbox.receive_messages(uow, workspace, [item], analyzer=analysis, now=at)
            uow.commit()
        return bot_first.answer_inbound(
            lambda: SqlUnitOfWork(engine), workspace, "tmall", [item.message_id], cache=cache, now=at
        )

    def angry(texts: list[str]) -> list[dict[str, Any] | None]:
        return [{"anger": "high", "escalation": "medium", "sentiment": {"label": "negative", "score": 0.02}}] * len(
            texts
        )

    answered = customer("ok", 1, "床垫试睡不满意可以退吗", T0)
    assert answered[0]["action"] == "answered" and answered[0]["citations"][0]["heading"] == "售后政策 › 床垫试睡"
    assert customer("ok", 1, "床垫试睡不满意可以退吗", T0) == [], "a message the bot decided on is left alone"
    assert customer("human", 1, "转人工", T0)[0]["reason"] == "asked_for_human"
    assert customer("upset", 1, "床垫试睡退货你们太坑了", T0, angry)[0]["reason"] == "negative_sentiment"
    assert customer("unknown", 1, "你们老板是谁", T0)[0]["reason"] == "low_confidence"
    back = customer("back", 1, "床垫试睡不满意能退吗", T0)
    assert back[0]["action"] == "answered"
    assert customer("back", 2, "床垫试睡不满意可以退吗？", T0 + timedelta(hours=3))[0]["action"] == "answered"
    with SqlUnitOfWork(engine) as uow:
        ok = uow.service.conversation(workspace, answered[0]["conversation_id"])
        thread = uow.service.conversation_messages(ok["id"])
        human = uow.service.conversation_messages(
            next(r["id"] for r in uow.service.inbox(workspace) if r["conversation_key"] == "human")
        )
        report = bot_first.bot_report(uow, workspace, now=T0 + timedelta(days=3))
    assert ok["status"] == "resolved"
    reply = next(m for m in thread if m["direction"] == "out")
    assert reply["sender"] == knowledge.BOT_ACTOR and "参考：《售后政策》 售后政策 › 床垫试睡" in reply["text"]
    assert [m["direction"] for m in human] == ["in", "out", "note"]
    assert human[2]["text"].startswith("转人工：客户要求转人工")
    tmall = report["channels"][0]
    assert (tmall["conversations"], tmall["contained"], tmall["came_back"], tmall["handed_off"]) == (5, 1, 1, 3)
    assert tmall["containment_rate"] == 0.2 and tmall["handoff_rate"] == 0.6
    assert tmall["handoff_reasons"] == {"asked_for_human": 1, "low_confidence": 1, "negative_sentiment": 1}

    with SqlUnitOfWork(engine) as uow:
        bot_first.flag_bot_answer(uow, workspace, ok["id"], reply["id"], actor="user:ann", note="试睡是100晚不是7天")
        uow.commit()
    with SqlUnitOfWork(engine) as uow:
        gaps = uow.knowledge.gaps(workspace, reason="bot_wrong")
        report = bot_first.bot_report(uow, workspace, now=T0 + timedelta(days=3))
        assert uow.service.conversation(workspace, ok["id"])["status"] == "open"
    assert gaps[0]["question"] == "床垫试睡不满意可以退吗" and gaps[0]["detail"]["by"] == "user:ann"
    with SqlUnitOfWork(engine) as uow:
        unanswered = [g["question"] for g in uow.knowledge.gaps(workspace, reason="no_suggestion")]
    assert unanswered == ["你们老板是谁"], "a hand-off for want of an answer is a gap; the others are not"
    assert report["channels"][0]["contained"] == 0


def test_the_worker_job_mines_every_workspace_once(engine: Engine, workspace: int) -> None:
    from liuyu.jobs.knowledge import mine_everywhere

    chat(engine, workspace, "a", [("customer", "发票在哪里开"), ("user:ann", "订单详情页点申请发票就可以")])
    assert mine_everywhere(engine, T0) == 1
    assert mine_everywhere(engine, T0) == 0
    with SqlUnitOfWork(engine) as uow:
        assert [f["question"] for f in uow.knowledge.faqs(workspace)] == ["发票在哪里开"]


def test_a_background_cache_answers_from_the_previous_index_while_it_rebuilds(engine: Engine, workspace: int) -> None:
    store(engine, workspace, "returns.md", RETURNS_MD.encode())
    cache = knowledge.KnowledgeCache(use_embeddings=False, background=True)
    with SqlUnitOfWork(engine) as uow:
        assert knowledge.suggest(cache, uow, workspace, "安装师傅什么时候联系我") == []
    store(engine, workspace, "install.html", INSTALL_HTML.encode())
    with SqlUnitOfWork(engine) as uow:
        knowledge.suggest(cache, uow, workspace, "安装师傅什么时候联系我")  # served by the old index
    cache.wait()
    with SqlUnitOfWork(engine) as uow:
        found = knowledge.suggest(cache, uow, workspace, "安装师傅什么时候联系我")
    assert cache.builds == 2 and found[0].title == "上门安装"


def test_erasing_a_customer_deletes_the_faq_pairs_mined_from_their_conversations(
    engine: Engine, workspace: int
) -> None:
    from liuyu.services.privacy import erase_customer

    turns = [("customer", "发票在哪里开"), ("user:ann", "订单详情页点申请发票就可以")]
    mine_id = chat(engine, workspace, "a", turns, nick="小鹿")
    chat(engine, workspace, "b", turns, nick="小满")
    knowledge.mine_faqs(lambda: SqlUnitOfWork(engine), workspace, now=T0)
    with SqlUnitOfWork(engine) as uow:
        customer = uow.service.conversation(workspace, mine_id)["customer_id"]
        done = erase_customer(uow, workspace, customer, actor="user:dpo")
        uow.commit()
    assert done["faqs"] == 1
    with SqlUnitOfWork(engine) as uow:
        assert uow.knowledge.faqs(workspace) == []
    again = knowledge.mine_faqs(lambda: SqlUnitOfWork(engine), workspace, now=T0)
    with SqlUnitOfWork(engine) as uow:
        faqs = uow.knowledge.faqs(workspace)
    assert again.conversations == 1, "only the other customer's conversation is mined again"
    assert [(f["question"], f["support"]) for f in faqs] == [("发票在哪里开", 1)]


def test_a_question_asked_again_is_not_embedded_again() -> None:
    from collections import OrderedDict

    import numpy as np

    class Counting:
        calls = 0

        def query(self, texts: Any) -> Any:
            Counting.calls += len(texts)
            return np.ones((len(texts), 4), dtype=np.float32)

        def passage(self, texts: Any) -> Any:
            return np.ones((len(texts), 4), dtype=np.float32)

    remembering = knowledge.RememberingEmbedder(Counting(), OrderedDict(), size=2)
    for text in ("床垫能退吗", "床垫能退吗", "发票", "运费", "床垫能退吗"):
        remembering.query([text])
    assert Counting.calls == 4, "the second ask is remembered; the fifth was pushed out by two others"
