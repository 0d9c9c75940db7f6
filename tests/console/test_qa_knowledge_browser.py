"""In a real browser: the QA page shows, under a reply's knowledge score, the article passage it
was compared with."""

from __future__ import annotations

import pytest

from liuyu.services import accounts, knowledge, quality
from liuyu.storage.uow import SqlUnitOfWork
from tests.api.conftest import Api
from tests.api.server import serving
from tests.console.test_service_quality_browser import PASSWORD, log_in
from tests.integration.test_knowledge_base import RETURNS_MD, chat, store
from tests.integration.test_qa_knowledge import TURNS

pytestmark = pytest.mark.browser


def test_a_supervisor_sees_the_knowledge_base_passage_beside_an_inconsistent_answer(api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    ws = api.qimu.id
    store(api.engine, ws, "售后政策.md", RETURNS_MD.encode())  # type: ignore[arg-type]
    cid = chat(api.engine, ws, "xiaolu", TURNS, nick="小鹿")  # type: ignore[arg-type]
    with SqlUnitOfWork(api.engine) as uow:  # type: ignore[arg-type]
        quality.review_conversation(
            uow, ws, cid, inspect_now=True, cache=knowledge.KnowledgeCache(use_embeddings=False)
        )
        accounts.create_user(uow.accounts, ws, "boss@qimu.cn", PASSWORD, "supervisor")
        uow.commit()
    with serving(api.client.app) as url:  # type: ignore[arg-type]
        page = browser.new_page()
        log_in(page, url, "boss@qimu.cn", f"/console/service/qa/{cid}")
        row = page.locator("#qa-scores tr[data-criterion=knowledge]")
        assert "5.0 / 10" in row.locator(".score").inner_text()
        references = row.locator(".kb-reference")
        assert references.count() == 2
        assert "七天无理由退货" in references.nth(0).inner_text(), "the answer far from the policy comes first"
        assert "床垫支持100晚试睡" in references.nth(1).inner_text()
        page.close()
