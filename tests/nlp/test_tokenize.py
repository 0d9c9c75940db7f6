"""Tokenizing: workspace dictionaries, traditional script."""

from __future__ import annotations

from liuyu.nlp.tokenize import JiebaTokenizer, tokenizer_for


def test_catalog_terms_stay_one_token_after_add_terms() -> None:
    tokenizer = JiebaTokenizer()
    text = "我买的黑武士手柄坏了,每日坚果也过期了"
    assert "黑武士手柄" not in tokenizer.tokenize(text)
    tokenizer.add_terms(["黑武士手柄", "每日坚果"])
    tokens = tokenizer.tokenize(text)
    assert "黑武士手柄" in tokens
    assert "每日坚果" in tokens


def test_one_workspace_terms_do_not_change_another_workspace() -> None:
    brand = tokenizer_for("ws-brand-a", ["黑武士手柄"])
    other = tokenizer_for("ws-brand-b")
    assert "黑武士手柄" in brand.tokenize("黑武士手柄很好用")
    assert "黑武士手柄" not in other.tokenize("黑武士手柄很好用")


def test_traditional_text_is_tokenized_like_simplified() -> None:
    tokenizer = JiebaTokenizer()
    assert tokenizer.tokenize("這個質量很好，物流也快") == tokenizer.tokenize("这个质量很好，物流也快")


def test_a_term_given_in_traditional_script_matches_simplified_text() -> None:
    tokenizer = JiebaTokenizer(["黑武士手柄"])
    tokenizer.add_terms(["藍牙耳機套裝"])
    assert "蓝牙耳机套装" in tokenizer.tokenize("蓝牙耳机套装到了")


def test_whitespace_is_not_a_token() -> None:
    assert all(token.strip() for token in JiebaTokenizer().tokenize("  你好   世界 \n "))
