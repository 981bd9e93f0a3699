"""Katakana renderings of English words, for search aliases (overrides/hooks/search_index.py).

Japanese readers often type an English term in katakana (ポステッドインタラプト for
"posted interrupts", ネームスペース for "namespaces") where the course writes a
Japanese term (ポステッド割り込み, 名前空間). The search index gives each glossary
term the katakana rendering of its English name, built word by word from this
table, so that such a query finds the term's glossary entry and the section that
defines it. A name with a word missing here gets no rendering; acronyms (VM, DMA)
and numbers are kept as they are. Add a word when a glossary term needs it; use
the spelling that Japanese vendor documentation uses.
"""

from __future__ import annotations

import re

WORDS = {
    "address": "アドレス",
    "and": "アンド",
    "assignment": "アサインメント",
    "assist": "アシスト",
    "assisted": "アシスト",
    "attack": "アタック",
    "attestation": "アテステーション",
    "balloon": "バルーン",
    "ballooning": "バルーニング",
    "binary": "バイナリ",
    "block": "ブロック",
    "buffer": "バッファ",
    "bytecode": "バイトコード",
    "cache": "キャッシュ",
    "channel": "チャネル",
    "code": "コード",
    "collection": "コレクション",
    "compilation": "コンパイル",
    "compression": "コンプレッション",
    "computing": "コンピューティング",
    "confidential": "コンフィデンシャル",
    "consolidation": "コンソリデーション",
    "container": "コンテナ",
    "control": "コントロール",
    "desktop": "デスクトップ",
    "device": "デバイス",
    "direct": "ダイレクト",
    "driver": "ドライバー",
    "emulate": "エミュレート",
    "emulation": "エミュレーション",
    "emulator": "エミュレーター",
    "entry": "エントリ",
    "escape": "エスケープ",
    "event": "イベント",
    "exception": "エクセプション",
    "execution": "エグゼキューション",
    "exit": "エグジット",
    "extended": "エクステンデッド",
    "full": "フル",
    "garbage": "ガベージ",
    "grant": "グラント",
    "group": "グループ",
    "guest": "ゲスト",
    "hardware": "ハードウェア",
    "host": "ホスト",
    "hypercall": "ハイパーコール",
    "hypervisor": "ハイパーバイザー",
    "instruction": "インストラクション",
    "interface": "インターフェース",
    "interpreter": "インタープリター",
    "interrupt": "インタラプト",
    "kernel": "カーネル",
    "large": "ラージ",
    "level": "レベル",
    "live": "ライブ",
    "machine": "マシン",
    "memory": "メモリ",
    "migration": "マイグレーション",
    "mode": "モード",
    "model": "モデル",
    "monitor": "モニター",
    "namespace": "ネームスペース",
    "neighbor": "ネイバー",
    "nested": "ネステッド",
    "network": "ネットワーク",
    "noisy": "ノイジー",
    "page": "ページ",
    "paravirtualization": "パラバーチャライゼーション",
    "physical": "フィジカル",
    "port": "ポート",
    "posted": "ポステッド",
    "process": "プロセス",
    "remapping": "リマッピング",
    "ring": "リング",
    "root": "ルート",
    "runtime": "ランタイム",
    "sensitive": "センシティブ",
    "server": "サーバー",
    "shadow": "シャドウ",
    "slot": "スロット",
    "snapshot": "スナップショット",
    "split": "スプリット",
    "stack": "スタック",
    "stage": "ステージ",
    "storage": "ストレージ",
    "system": "システム",
    "table": "テーブル",
    "translation": "トランスレーション",
    "trap": "トラップ",
    "type": "タイプ",
    "violation": "バイオレーション",
    "virtual": "バーチャル",
    "virtualization": "バーチャライゼーション",
    "walk": "ウォーク",
}

_ACRONYM = re.compile(r"^(?:[A-Z][A-Za-z]*[A-Z]|[A-Z]{1,2}|[0-9]+)$")


def render(english: str) -> str | None:
    """The katakana rendering of ``english`` ("Posted interrupts" -> ポステッドインタラプト), or None."""
    parts = []
    for word in re.split(r"[\s\-]+", english.strip()):
        if not word:
            continue
        if _ACRONYM.match(word):
            parts.append(word)
            continue
        lower = word.lower()
        katakana = WORDS.get(lower) or (WORDS.get(lower[:-1]) if lower.endswith("s") else None)
        if katakana is None:
            return None
        parts.append(katakana)
    return "".join(parts) or None
