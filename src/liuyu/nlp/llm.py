"""The optional large language model: one OpenAI-compatible chat-completions provider.

Anything that speaks ``POST {base_url}/chat/completions`` works: a local vLLM or Ollama
(``http://127.0.0.1:11434/v1``) or a hosted endpoint. Nothing in liuyu needs it; when it is
configured it writes conversation summaries, reply drafts grounded in retrieved passages (with
citations that are checked against those passages) and structured extraction into a pydantic
schema. Whatever the model returns goes through the same validation as everything else.

Errors::

    LiuyuError
    └── LLMError                 the provider could not give a usable answer
        ├── LLMUnavailable       connection refused, timeout, DNS: try again later or switch it off
        ├── LLMResponseError     HTTP error status or a body that is not a chat completion
        └── LLMOutputError       the model's text is not the JSON the schema asks for
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from liuyu.domain.errors import LiuyuError
from liuyu.nlp.embeddings import clean_text
from liuyu.services.ports_knowledge import ChatMessage, Hit, LLMProvider

__all__ = [
    "LLMError",
    "LLMOutputError",
    "LLMResponseError",
    "LLMUnavailable",
    "OpenAICompatibleProvider",
    "ReplyDraft",
    "draft_reply",
    "extract_structured",
    "provider_from_env",
    "summarize_conversation",
]

# Prompts stay well inside a small local model's context: a conversation is cut to its last
# MAX_CONVERSATION_CHARS characters, each passage to MAX_PASSAGE_CHARS.
MAX_CONVERSATION_CHARS = 6000
MAX_PASSAGE_CHARS = 800
MAX_EXTRACT_CHARS = 4000

Model = TypeVar("Model", bound=BaseModel)


class LLMError(LiuyuError):
    """The language model could not give a usable answer."""


class LLMUnavailable(LLMError):
    """The endpoint could not be reached or did not answer in time."""


class LLMResponseError(LLMError):
    """The endpoint answered with an error status or a body that is not a chat completion."""


class LLMOutputError(LLMError):
    """The model's text does not fit what was asked (not JSON, or not the schema)."""


class OpenAICompatibleProvider:
    """Chat completions over HTTP; ``transport`` lets tests run against an in-process server."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout: float = 30.0,
        temperature: float = 0.2,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.temperature = temperature
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAICompatibleProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete(
        self, messages: Sequence[ChatMessage], *, json_mode: bool = False, max_tokens: int | None = None
    ) -> str:
        """The assistant's text for ``messages``; raises an LLMError subclass, never an httpx or JSON error."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": self.temperature,
        }
        if max_tokens:
            body["max_tokens"] = max_tokens
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        url = f"{self.base_url}/chat/completions"
        try:
            response = self._client.post(url, json=body)
        except httpx.TimeoutException as exc:
            raise LLMUnavailable(f"{url} did not answer within {self._client.timeout.read}s") from exc
        except httpx.HTTPError as exc:
            raise LLMUnavailable(f"{url} could not be reached: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise LLMResponseError(f"{url} answered HTTP {response.status_code}: {_error_detail(response)}")
        try:
            payload = response.json()
            content = payload["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise LLMResponseError(
                f"{url} answered something that is not a chat completion: {response.text[:200]!r}"
            ) from exc
        if not isinstance(content, str):
            raise LLMResponseError(f"{url} answered a message without text content")
        return content


def _error_detail(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
        if isinstance(error, dict):
            return str(error.get("message", error))[:300]
        if error:
            return str(error)[:300]
    except (ValueError, AttributeError):
        pass
    return response.text[:300] or response.reason_phrase


def provider_from_env(environ: dict[str, str] | None = None) -> OpenAICompatibleProvider | None:
    """The provider configured by ``LIUYU_LLM_URL`` and ``LIUYU_LLM_MODEL`` (plus optional
    ``LIUYU_LLM_API_KEY`` and ``LIUYU_LLM_TIMEOUT`` seconds), or None when it is not configured."""
    env = os.environ if environ is None else environ
    url, model = env.get("LIUYU_LLM_URL", "").strip(), env.get("LIUYU_LLM_MODEL", "").strip()
    if not url or not model:
        return None
    timeout = float(env.get("LIUYU_LLM_TIMEOUT", "30") or 30)
    return OpenAICompatibleProvider(url, model, api_key=env.get("LIUYU_LLM_API_KEY") or None, timeout=timeout)


def summarize_conversation(provider: LLMProvider, turns: Sequence[str]) -> str:
    """A short Chinese summary for the ticket: what the customer wants and what was agreed."""
    transcript = "\n".join(clean_text(t, MAX_PASSAGE_CHARS) for t in turns if clean_text(t))
    transcript = transcript[-MAX_CONVERSATION_CHARS:]
    if not transcript:
        return ""
    messages = [
        ChatMessage(
            "system",
            "你是电商客服主管。用不超过三句话总结这段对话：客户要什么、问题出在哪、目前的处理结果。只依据对话内容。",
        ),
        ChatMessage("user", transcript),
    ]
    return provider.complete(messages, max_tokens=300).strip()


@dataclass(frozen=True, slots=True)
class ReplyDraft:
    """A reply for the agent to edit; ``citations`` are ids of the passages it relies on."""

    text: str
    citations: tuple[str, ...]
    grounded: bool


_CITATION = re.compile(r"\[(\d{1,2})\]")


def draft_reply(provider: LLMProvider, question: str, hits: Sequence[Hit]) -> ReplyDraft:
    """Draft an answer that uses only the retrieved passages and cites them as [1], [2] …

    Without passages no model is called: an ungrounded answer is worse than none. Citation
    numbers that point at no passage are dropped, and a draft with no valid citation is marked
    ``grounded=False`` so the workspace can hide it.
    """
    question = clean_text(question, MAX_PASSAGE_CHARS)
    if not hits or not question:
        return ReplyDraft(text="", citations=(), grounded=False)
    numbered = "\n".join(
        f"[{n}] {clean_text(h.answer or h.text, MAX_PASSAGE_CHARS)}" for n, h in enumerate(hits, start=1)
    )
    messages = [
        ChatMessage(
            "system",
            "你是电商客服。只根据下面编号的资料回答客户，语气礼貌简洁，每句用到资料时在句末标注来源编号，如[1]。"
            "资料里没有的内容不要编造，直接说需要转人工确认。",
        ),
        ChatMessage("user", f"资料：\n{numbered}\n\n客户问题：{question}"),
    ]
    text = provider.complete(messages, max_tokens=400).strip()
    cited = []
    for number in _CITATION.findall(text):
        index = int(number) - 1
        if 0 <= index < len(hits) and hits[index].id not in cited:
            cited.append(hits[index].id)
    return ReplyDraft(text=text, citations=tuple(cited), grounded=bool(cited))


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


def extract_structured(provider: LLMProvider, text: str, schema: type[Model]) -> Model:
    """Fill ``schema`` from ``text``; raises LLMOutputError when the model's answer is not valid JSON
    for the schema (the message says which field failed)."""
    text = clean_text(text, MAX_EXTRACT_CHARS)
    messages = [
        ChatMessage(
            "system",
            "从用户给出的文本中抽取信息，只输出一个符合下面 JSON Schema 的 JSON 对象，不要任何解释。"
            "文本里没有的字段用 null。\n" + json.dumps(schema.model_json_schema(), ensure_ascii=False),
        ),
        ChatMessage("user", text),
    ]
    raw = provider.complete(messages, json_mode=True, max_tokens=800).strip()
    raw = _FENCE.sub("", raw).strip()
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LLMOutputError(f"the model did not answer JSON ({exc.msg} at char {exc.pos}): {raw[:200]!r}") from exc
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise LLMOutputError(f"the model's JSON does not fit {schema.__name__}: {problems}") from exc
