"""The knowledge base API: documents, FAQ mining, the report, answer suggestions, feedback, bot first."""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from liuyu.api.deps import ContainerDep, CurrentReader
from liuyu.api.routes.conversations import AGENT_ROLES, mask_text
from liuyu.domain.errors import InvalidInput, NotFound
from liuyu.services import bot_first, knowledge
from liuyu.services.accounts import Principal
from liuyu.storage.uow import SqlUnitOfWork

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1", tags=["knowledge"])
EDITOR_ROLES = ("admin", "operator", "supervisor")
MAX_UPLOAD = 20 * 1024 * 1024
MAX_FILES = 20


class FeedbackCreate(BaseModel):
    message_id: int
    source: Literal["chunk", "faq"]
    source_id: int
    action: Literal["inserted", "helpful", "unhelpful"]


class FlagCreate(BaseModel):
    note: str = Field(default="", max_length=500)


class BotSettingUpdate(BaseModel):
    enabled: bool | None = None
    threshold: float | None = Field(default=None, ge=0, le=1)


def cache_for(container: Any) -> knowledge.KnowledgeCache:
    return knowledge.shared_cache(container.settings.kb_embeddings)


def _masked(suggestions: dict[str, Any], principal: Principal) -> dict[str, Any]:
    if principal.sees_pii or not suggestions.get("message"):
        return suggestions
    return {**suggestions, "message": {**suggestions["message"], "text": mask_text(suggestions["message"]["text"])}}


# -- documents -----------------------------------------------------------------------------------


@router.post("/kb/articles", status_code=201, summary="Upload knowledge documents (.md .txt .html .docx .pdf)")
async def upload_articles(
    container: ContainerDep, principal: CurrentReader, files: Annotated[list[UploadFile], File()]
) -> dict[str, Any]:
    """Each file becomes one article, split into chunks with their headings; a file of the same name
    replaces the article, the same file again changes nothing. A file that cannot be read is listed
    under ``errors`` and the others are kept."""
    principal.require(*EDITOR_ROLES)
    if not 1 <= len(files) <= MAX_FILES:
        raise InvalidInput(f"send 1-{MAX_FILES} files", field="files")
    loaded = []
    for upload in files:
        data = await upload.read(MAX_UPLOAD + 1)
        loaded.append((upload.filename or "", data))
    return await run_in_threadpool(_import, container, principal.workspace_id, loaded)


def _import(container: Any, workspace_id: int, loaded: list[tuple[str, bytes]]) -> dict[str, Any]:
    cache = cache_for(container)
    embedder = cache.get_embedder()
    prepared, errors = [], []
    for name, data in loaded:
        try:
            if len(data) > MAX_UPLOAD:
                raise InvalidInput("is larger than 20 MB", field="file", value=name)
            prepared.append(knowledge.prepare_document(name, data, embedder=embedder))
        except InvalidInput as exc:
            errors.append({"name": name, "reason": str(exc)})
    with SqlUnitOfWork(container.engine) as uow:
        stored = [knowledge.store_document(uow, workspace_id, doc) for doc in prepared]
        uow.commit()
    return {"articles": stored, "errors": errors}


@router.get("/kb/articles", summary="Articles with their use and staleness")
def list_articles(
    container: ContainerDep, principal: CurrentReader, stale_days: int = Query(default=180, ge=1, le=3650)
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        report = knowledge.knowledge_report(uow, principal.workspace_id, stale_days=stale_days, gap_limit=0)
    return {"articles": report["articles"]}


@router.get("/kb/articles/{article_id}", summary="One article's chunks")
def show_article(article_id: int, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        chunks = uow.knowledge.chunks(principal.workspace_id, article_id)
    if not chunks:
        raise NotFound(f"no article {article_id}")
    return {"article_id": article_id, "chunks": chunks}


@router.delete("/kb/articles/{article_id}", status_code=204, summary="Remove an article")
def remove_article(article_id: int, container: ContainerDep, principal: CurrentReader) -> None:
    principal.require(*EDITOR_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        knowledge.delete_article(uow, principal.workspace_id, article_id)
        uow.commit()


@router.post("/kb/faqs/mine", summary="Mine FAQ pairs from resolved conversations not mined before")
def mine(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*EDITOR_ROLES)
    report = knowledge.mine_faqs(
        lambda: SqlUnitOfWork(container.engine),
        principal.workspace_id,
        embedder=cache_for(container).get_embedder(),
    )
    return {"conversations": report.conversations, "pairs": report.pairs, "new": report.new}


@router.get("/kb/report", summary="Usage, stale articles, FAQ pairs and gaps")
def report(
    container: ContainerDep,
    principal: CurrentReader,
    stale_days: int = Query(default=180, ge=1, le=3650),
    gaps: int = Query(default=100, ge=0, le=1000),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        found = knowledge.knowledge_report(uow, principal.workspace_id, stale_days=stale_days, gap_limit=gaps)
    if not principal.sees_pii:
        found["gaps"] = [{**g, "question": mask_text(g["question"])} for g in found["gaps"]]
    return found


@router.get("/kb/gaps", summary="Questions the knowledge base did not answer well")
def list_gaps(
    container: ContainerDep,
    principal: CurrentReader,
    reason: Literal["no_suggestion", "bot_wrong"] | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rows = uow.knowledge.gaps(principal.workspace_id, reason=reason, limit=limit)
    if not principal.sees_pii:
        rows = [{**g, "question": mask_text(g["question"])} for g in rows]
    return {"gaps": rows}


# -- suggestions ---------------------------------------------------------------------------------


@router.get("/conversations/{conversation_id}/suggestions", summary="Answer suggestions for a customer message")
def suggestions(
    conversation_id: int,
    container: ContainerDep,
    principal: CurrentReader,
    message_id: int | None = None,
    k: int = Query(default=3, ge=1, le=10),
) -> dict[str, Any]:
    """Top ``k`` answers for the message (default: the customer's latest), each with its source
    and a confidence; a message with no good answer is recorded as a knowledge gap."""
    with SqlUnitOfWork(container.engine) as uow:
        found = knowledge.suggestions_for_conversation(
            uow, principal.workspace_id, conversation_id, cache=cache_for(container), message_id=message_id, k=k
        )
        uow.commit()
    return _masked(found, principal)


@router.post("/conversations/{conversation_id}/suggestions/feedback", summary="Inserted, helpful or unhelpful")
def feedback(
    conversation_id: int, body: FeedbackCreate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        new = knowledge.record_feedback(
            uow,
            principal.workspace_id,
            conversation_id,
            message_id=body.message_id,
            source=body.source,
            source_id=body.source_id,
            action=body.action,
            actor=principal.actor,
        )
        uow.commit()
    return {"recorded": new}


@router.post("/conversations/{conversation_id}/bot-answers/{reply_id}/flag", summary="Flag a wrong bot answer")
def flag(
    conversation_id: int, reply_id: int, body: FlagCreate, container: ContainerDep, principal: CurrentReader
) -> dict[str, Any]:
    principal.require(*AGENT_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        done = bot_first.flag_bot_answer(
            uow, principal.workspace_id, conversation_id, reply_id, actor=principal.actor, note=body.note
        )
        uow.commit()
    return done


# -- bot first -----------------------------------------------------------------------------------


@router.get("/bot/channels", summary="Bot-first settings per channel")
def bot_channels(container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        rows = uow.knowledge.bot_settings(principal.workspace_id)
    return {"channels": [{k: r[k] for k in ("channel", "enabled", "threshold", "updated_at")} for r in rows]}


@router.put("/bot/channels/{channel}", summary="Turn the bot on or off for a channel, set its threshold")
def set_bot(channel: str, body: BotSettingUpdate, container: ContainerDep, principal: CurrentReader) -> dict[str, Any]:
    principal.require(*EDITOR_ROLES)
    with SqlUnitOfWork(container.engine) as uow:
        saved = bot_first.configure_bot(
            uow, principal.workspace_id, channel, enabled=body.enabled, threshold=body.threshold
        )
        uow.commit()
    return saved


@router.get("/bot/report", summary="Containment and hand-off rates per channel")
def bot_report(
    container: ContainerDep, principal: CurrentReader, days: int = Query(default=30, ge=1, le=365)
) -> dict[str, Any]:
    with SqlUnitOfWork(container.engine) as uow:
        return bot_first.bot_report(uow, principal.workspace_id, days=days)


def bot_first_answers(container: Any, workspace_id: int, channel: str, parsed: list[Any]) -> None:
    """After inbound messages are stored: let the channel's bot answer or hand off (when it is on).

    The messages are committed by then, so a failing bot must not fail the webhook (the bridge would
    resend what is already stored); it is logged and the conversation waits for a person.
    """
    ids = [m.message_id for m in parsed if m.direction == "in"]
    try:
        bot_first.answer_inbound(
            lambda: SqlUnitOfWork(container.engine), workspace_id, channel, ids, cache=cache_for(container)
        )
    except Exception:  # the messages are safe; the agents will see the conversation
        log.exception("bot-first answer failed for workspace %s channel %s", workspace_id, channel)
