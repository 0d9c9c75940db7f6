"""The OpenAI-compatible provider against a small chat-completions server started by the test."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import BaseModel

from liuyu.nlp.llm import (
    LLMOutputError,
    LLMResponseError,
    LLMUnavailable,
    OpenAICompatibleProvider,
    draft_reply,
    extract_structured,
    provider_from_env,
    summarize_conversation,
)
from liuyu.services.ports_knowledge import ChatMessage, Hit

Reply = Callable[[dict[str, Any]], tuple[int, bytes]]


def completion(content: str) -> tuple[int, bytes]:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
    }
    return 200, json.dumps(body, ensure_ascii=False).encode()


class FakeChatServer:
    """Speaks just enough of POST /v1/chat/completions; ``reply`` decides each answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.reply: Reply = lambda body: completion("好的")
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if self.path != "/v1/chat/completions":
                    status, payload = 404, b'{"error": {"message": "no such route"}}'
                else:
                    status, payload = server.reply(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FakeChatServer]:
    fake = FakeChatServer()
    yield fake
    fake.stop()


@pytest.fixture
def provider(server: FakeChatServer) -> Iterator[OpenAICompatibleProvider]:
    with OpenAICompatibleProvider(server.url, "qwen2.5-7b-instruct", api_key="sk-test", timeout=2.0) as p:
        yield p


class OrderFacts(BaseModel):
    order_number: str | None = None
    refund_amount: float | None = None
    wants_refund: bool


HITS = [
    Hit(id="kb-7day", text="七天无理由退货：签收后7天内，商品完好可申请退货。", score=1.0, source="passage"),
    Hit(
        id="kb-fee",
        text="退货运费：质量问题由商家承担，其他情况买家承担，有运费险可理赔。",
        score=0.8,
        source="passage",
    ),
]


def test_a_completion_sends_model_messages_and_key_and_returns_the_text(server, provider) -> None:
    server.reply = lambda body: completion("您好，已为您查询。")
    text = provider.complete([ChatMessage("user", "我的快递到哪了")])
    assert text == "您好，已为您查询。"
    assert server.requests[0]["model"] == "qwen2.5-7b-instruct"
    assert server.requests[0]["messages"] == [{"role": "user", "content": "我的快递到哪了"}]
    assert server.headers[0]["Authorization"] == "Bearer sk-test"


def test_an_http_error_becomes_a_response_error_with_the_servers_message(server, provider) -> None:
    server.reply = lambda body: (503, b'{"error": {"message": "model is loading"}}')
    with pytest.raises(LLMResponseError, match=r"503.*model is loading"):
        provider.complete([ChatMessage("user", "你好")])


def test_a_body_that_is_not_json_becomes_a_response_error(server, provider) -> None:
    server.reply = lambda body: (200, b"<html>gateway</html>")
    with pytest.raises(LLMResponseError, match="not a chat completion"):
        provider.complete([ChatMessage("user", "你好")])


def test_a_completion_without_choices_becomes_a_response_error(server, provider) -> None:
    server.reply = lambda body: (200, b'{"choices": []}')
    with pytest.raises(LLMResponseError):
        provider.complete([ChatMessage("user", "你好")])


def test_a_slow_server_becomes_unavailable_after_the_timeout(server) -> None:
    def slow(body: dict[str, Any]) -> tuple[int, bytes]:
        time.sleep(1.0)
        return completion("迟到的回答")

    server.reply = slow
    with (
        OpenAICompatibleProvider(server.url, "m", timeout=0.2) as quick,
        pytest.raises(LLMUnavailable, match="did not answer"),
    ):
        quick.complete([ChatMessage("user", "你好")])


def test_a_closed_port_becomes_unavailable() -> None:
    dead = FakeChatServer()
    url = dead.url
    dead.stop()
    with (
        OpenAICompatibleProvider(url, "m", timeout=1.0) as p,
        pytest.raises(LLMUnavailable, match="could not be reached"),
    ):
        p.complete([ChatMessage("user", "你好")])


def test_extraction_validates_the_models_json_against_the_schema(server, provider) -> None:
    server.reply = lambda body: completion(
        '```json\n{"order_number": "4012398765432123", "refund_amount": 59.9, "wants_refund": true}\n```'
    )
    facts = extract_structured(provider, "订单4012398765432123 我要退款59.9", OrderFacts)
    assert facts == OrderFacts(order_number="4012398765432123", refund_amount=59.9, wants_refund=True)
    assert server.requests[0]["response_format"] == {"type": "json_object"}
    assert "wants_refund" in server.requests[0]["messages"][0]["content"]


def test_malformed_json_from_the_model_is_a_clear_output_error(server, provider) -> None:
    server.reply = lambda body: completion('{"order_number": "123", "wants_refund": tru')
    with pytest.raises(LLMOutputError, match="did not answer JSON"):
        extract_structured(provider, "我要退款", OrderFacts)


def test_json_that_misses_a_required_field_names_the_field(server, provider) -> None:
    server.reply = lambda body: completion('{"order_number": "123"}')
    with pytest.raises(LLMOutputError, match="wants_refund"):
        extract_structured(provider, "我要退款", OrderFacts)


def test_a_reply_draft_keeps_only_citations_that_point_at_given_passages(server, provider) -> None:
    server.reply = lambda body: completion("签收7天内可以退货[1]，运费由您承担，有运费险可理赔[2]。详见[5]")
    draft = draft_reply(provider, "退货运费谁出", HITS)
    assert draft.citations == ("kb-7day", "kb-fee")
    assert draft.grounded
    prompt = server.requests[0]["messages"][1]["content"]
    assert "[1] 七天无理由退货" in prompt and "[2] 退货运费" in prompt


def test_a_reply_draft_without_citations_is_marked_ungrounded(server, provider) -> None:
    server.reply = lambda body: completion("亲，可以退的哦")
    assert not draft_reply(provider, "能退吗", HITS).grounded


def test_no_passages_means_no_draft_and_no_call(server, provider) -> None:
    draft = draft_reply(provider, "你们老板是谁", [])
    assert draft.text == "" and not draft.grounded
    assert server.requests == []


def test_a_summary_sends_the_latest_part_of_a_long_conversation(server, provider) -> None:
    server.reply = lambda body: completion("客户要求退款，已同意。")
    turns = ["早期的寒暄" * 100] * 30 + ["最后 同意退款\x00"]
    assert summarize_conversation(provider, turns) == "客户要求退款，已同意。"
    sent = server.requests[0]["messages"][1]["content"]
    assert sent.endswith("最后 同意退款") and len(sent) <= 6000


def test_the_provider_is_off_unless_url_and_model_are_configured() -> None:
    assert provider_from_env({}) is None
    assert provider_from_env({"LIUYU_LLM_URL": "http://127.0.0.1:11434/v1"}) is None
    configured = provider_from_env({"LIUYU_LLM_URL": "http://127.0.0.1:11434/v1/", "LIUYU_LLM_MODEL": "qwen2.5"})
    assert configured is not None and configured.base_url == "http://127.0.0.1:11434/v1"
    configured.close()
