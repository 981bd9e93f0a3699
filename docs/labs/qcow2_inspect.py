#!/usr/bin/env python3
"""Look inside a qcow2 disk image: its header, L1 and L2 tables, and refcounts.

    python3 qcow2_inspect.py IMAGE                 header, tables, guest map, refcounts
    python3 qcow2_inspect.py IMAGE --offset 64k    look up one guest offset, step by step
    python3 qcow2_inspect.py IMAGE --show map      only some sections (comma-separated):
                                                   header, snapshots, l1, l2, map, chain,
                                                   refcounts, check
    python3 qcow2_inspect.py IMAGE --map-json      the map through the backing chain as
                                                   JSON, in the form of
                                                   `qemu-img map --output=json IMAGE`
    --all                                          list every L2 entry and host cluster

Offsets and sizes may be written as 65536, 0x10000, 64k, 1M or 1G.

Standard library only; read-only (the image is never written). It follows QEMU's
specification of the format, "Qcow2 Image File Format" (docs/interop/qcow2.txt in
QEMU 7.2, docs/interop/qcow2.rst in later versions); comments name its sections.
The course page is /labs/qcow2/.

The program prints in the reader's language: Japanese when the locale (LC_ALL,
LC_MESSAGES or LANG) selects Japanese, English otherwise (MESSAGES, after the imports).
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import struct
import sys
import unicodedata
import zlib
from dataclasses import dataclass, field


# ---- Messages in the reader's language --------------------------------------------
def reader_language() -> str:
    """Return "ja" when the locale selects Japanese, else "en".

    As in POSIX, the first non-empty one of LC_ALL, LC_MESSAGES and LANG decides:
    LANG=ja_JP.UTF-8 gives Japanese, LANG=C.UTF-8 or en_US.UTF-8 gives English.
    """
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ja" if value == "ja" or value.startswith(("ja_", "ja.", "ja@")) else "en"
    return "en"


def say(key: str, **values) -> str:
    """MESSAGES[key] in the reader's language, with the values filled in (str.format)."""
    return MESSAGES[key][reader_language()].format(**values)



MESSAGES = {
    # The report: the header
    "title": {"ja": "== {path}: qcow2の版{version}、ファイルの大きさ{size}バイト（{human}） ==",
              "en": "== {path}: qcow2 version {version}, file size {size} bytes ({human}) =="},
    "title-small": {"ja": "== {path}: qcow2の版{version}、ファイルの大きさ{size}バイト ==",
                    "en": "== {path}: qcow2 version {version}, file size {size} bytes =="},
    "label-virtual-size": {"ja": "仮想ディスクの大きさ", "en": "virtual size"},
    "label-cluster-size": {"ja": "クラスターの大きさ", "en": "cluster size"},
    "label-l2-entries": {"ja": "L2エントリ", "en": "L2 entries"},
    "label-subclusters": {"ja": "サブクラスター", "en": "subclusters"},
    "label-l1-table": {"ja": "L1テーブル", "en": "L1 table"},
    "label-refcount-table": {"ja": "参照カウントテーブル", "en": "refcount table"},
    "label-backing-file": {"ja": "バッキングファイル", "en": "backing file"},
    "label-snapshots": {"ja": "スナップショット", "en": "snapshots"},
    "label-incompatible": {"ja": "非互換の機能", "en": "incompatible"},
    "label-compatible": {"ja": "互換の機能", "en": "compatible"},
    "label-autoclear": {"ja": "autoclearの機能", "en": "autoclear"},
    "label-compression": {"ja": "圧縮", "en": "compression"},
    "label-encryption": {"ja": "暗号化", "en": "encryption"},
    "label-extensions": {"ja": "ヘッダー拡張", "en": "extensions"},
    "virtual-size": {"ja": "{size}バイト（{human}）", "en": "{size} bytes ({human})"},
    "cluster-size": {"ja": "{size}バイト（{human}、cluster_bits {bits}）",
                     "en": "{size} bytes ({human}, cluster_bits {bits})"},
    "l2-entries": {"ja": "L2テーブル1つに{n}個、1個{size}バイト。L2テーブル1つで{span}を表す",
                   "en": "{n} per L2 table, {size} bytes each; one L2 table maps {span}"},
    "subclusters": {"ja": "1クラスターに32個、1個{size}", "en": "32 per cluster, {size} each"},
    "l1-table": {"ja": "0x{offset:x}から{entries}", "en": "{entries} at 0x{offset:x}"},
    "refcount-table": {"ja": "0x{offset:x}から{clusters}。参照カウントは{bits}ビット",
                       "en": "at 0x{offset:x}, {clusters}; refcounts are {bits} bits"},
    "backing-file": {"ja": "{name}（形式{format}）", "en": "{name} (format {format})"},
    "not-recorded": {"ja": "記録なし", "en": "not recorded"},
    "none": {"ja": "なし", "en": "none"},
    "unknown": {"ja": "不明", "en": "unknown"},
    "feature": {"ja": "{name}（ビット{bit}）", "en": "{name} (bit {bit})"},
    "unknown-compression": {"ja": "不明な種類{type}", "en": "unknown type {type}"},
    "unknown-encryption": {"ja": "不明な方式{method}", "en": "unknown method {method}"},
    "unknown-extension": {"ja": "不明な0x{type:08x}", "en": "unknown 0x{type:08x}"},
    "separator": {"ja": "、", "en": ", "},
    "note": {"ja": "注: {note}", "en": "note: {note}"},
    "note-dirty": {"ja": "dirtyのビットが立っています: 参照カウントが古いかもしれません"
                         "（QEMUは次に書き込み用に開くときに作り直します）",
                   "en": "dirty bit set: refcounts may be out of date (QEMU rebuilds them "
                         "when it next opens the image for writing)"},
    "note-corrupt": {"ja": "corruptのビットが立っています: QEMUが不整合を見つけたので、"
                           "このイメージには書き込みません。qemu-img checkを実行してください",
                     "en": "corrupt bit set: QEMU found an inconsistency and will not write "
                           "to this image; run qemu-img check"},
    "note-encrypted": {"ja": "暗号化されています: 表は読めますが、ゲストのデータは読めません",
                       "en": "encrypted: the tables are readable, the guest data is not"},
    "cannot-open-backing": {"ja": "バッキングファイルを開けません: {problem}",
                            "en": "cannot open the backing file: {problem}"},
    # Counts (English has a singular)
    "one-entry": {"ja": "1エントリ", "en": "1 entry"},
    "n-entries": {"ja": "{n}エントリ", "en": "{n} entries"},
    "one-cluster": {"ja": "1クラスター", "en": "1 cluster"},
    "n-clusters": {"ja": "{n}クラスター", "en": "{n} clusters"},
    "one-sector": {"ja": "1個", "en": "1 sector"},
    "n-sectors": {"ja": "{n}個", "en": "{n} sectors"},
    "n-bytes": {"ja": "{n}バイト", "en": "{n} bytes"},
    # The report: snapshots, L1 and L2 tables
    "snapshots-title": {"ja": "== スナップショット（{n}個） ==", "en": "== Snapshots ({n}) =="},
    "snapshot-row": {"ja": "id {id}「{name}」: L1テーブルは0x{offset:x}（{entries}）、VMの状態は{vm_state}バイト",
                     "en": "id {id} '{name}': L1 table at 0x{offset:x} ({entries}), VM state {vm_state} bytes"},
    "l1-title": {"ja": "== L1テーブル（0x{offset:x}）: {size}エントリのうち{used}個がL2テーブルを指す ==",
                 "en": "== L1 table at 0x{offset:x}: {used} of {size} entries point to an L2 table =="},
    "l1-row-copied": {"ja": "L1[{index}] = 0x{entry:016x}  L2テーブルは0x{table:x}、COPIED。"
                            "ゲストの0x{start:x}-0x{end:x}",
                      "en": "L1[{index}] = 0x{entry:016x}  L2 table at 0x{table:x}, COPIED; "
                            "guest 0x{start:x}-0x{end:x}"},
    "l1-row-shared": {"ja": "L1[{index}] = 0x{entry:016x}  L2テーブルは0x{table:x}、COPIEDなし"
                            "（スナップショットと共有）。ゲストの0x{start:x}-0x{end:x}",
                      "en": "L1[{index}] = 0x{entry:016x}  L2 table at 0x{table:x}, not COPIED "
                            "(shared with a snapshot); guest 0x{start:x}-0x{end:x}"},
    "l2-title": {"ja": "== L2テーブル（0x{offset:x}、L1[{index}]）: {size}エントリのうち{used}個を使用 ==",
                 "en": "== L2 table at 0x{offset:x} (L1[{index}]): {used} of {size} entries in use =="},
    "l2-row": {"ja": "L2[{index}] ゲストの0x{guest}  0x{entry:016x}  {what}",
               "en": "L2[{index}] guest 0x{guest}  0x{entry:016x}  {what}"},
    "l2-row-extended": {"ja": "L2[{index}] ゲストの0x{guest}  0x{entry:016x} 0x{bitmap:016x}  {what}",
                        "en": "L2[{index}] guest 0x{guest}  0x{entry:016x} 0x{bitmap:016x}  {what}"},
    "data-copied": {"ja": "データ（ホストの0x{host:x}）、COPIED（参照カウント1）",
                    "en": "data at host 0x{host:x}, COPIED (refcount 1)"},
    "data-shared": {"ja": "データ（ホストの0x{host:x}）、COPIEDなし（共有）",
                    "en": "data at host 0x{host:x}, not COPIED (shared)"},
    "compressed-entry": {"ja": "圧縮されたクラスター（ビット62）、データは0x{host:x}から",
                         "en": "compressed cluster (bit 62), data from 0x{host:x}"},
    "zero-flag": {"ja": "ゼロフラグ", "en": "zero flag"},
    "zero-flag-kept": {"ja": "ゼロフラグ、クラスター0x{host:x}は確保したまま",
                       "en": "zero flag, cluster 0x{host:x} kept"},
    "unallocated": {"ja": "未割り当て", "en": "unallocated"},
    "unallocated-reserved": {"ja": "未割り当て（クラスター0x{host:x}は予約済み）",
                             "en": "unallocated (cluster 0x{host:x} reserved)"},
    "subcluster-row": {"ja": "クラスター{cluster}、サブクラスター {letters}",
                       "en": "cluster {cluster}, subclusters {letters}"},
    "more": {"ja": "...ほかに{n}個（--allですべて表示）", "en": "... {n} more (--all lists them)"},
    "more-rows": {"ja": "...ほかに{n}行（--allですべて表示）", "en": "... {n} more rows (--all lists them)"},
    # The report: guest maps
    "map-title": {"ja": "== ゲストから見たマップ: このファイルだけ ==", "en": "== Guest map: this file alone =="},
    "map-data": {"ja": "このファイルのデータ（0x{host:x}）", "en": "data in this file at 0x{host:x}"},
    "map-data-no-offset": {"ja": "このファイルのデータ", "en": "data in this file"},
    "map-compressed": {"ja": "このファイルの圧縮データ", "en": "compressed data in this file"},
    "map-zero-flag": {"ja": "ゼロフラグ: ゼロとして読める", "en": "zero flag: reads as zeros"},
    "map-zero-flag-kept": {"ja": "ゼロフラグ: ゼロとして読める（クラスター0x{host:x}は確保したまま）",
                           "en": "zero flag: reads as zeros (cluster kept) at 0x{host:x}"},
    "map-backing": {"ja": "ここでは未割り当て: バッキングファイル{backing}から読む",
                    "en": "not allocated here: read from the backing file {backing}"},
    "map-no-backing": {"ja": "未割り当て、バッキングファイルなし: ゼロとして読める",
                       "en": "not allocated, no backing file: reads as zeros"},
    "map-beyond-backing": {"ja": "未割り当て、バッキングファイルの終わりより後: ゼロとして読める",
                           "en": "not allocated, beyond the end of the backing file: reads as zeros"},
    "chain-title": {"ja": "== バッキングファイルの鎖をたどったマップ（qemu-img mapと同じ） ==",
                    "en": "== Guest map through the backing chain (as qemu-img map) =="},
    "chain-data": {"ja": "深さ{depth}  {name}のデータ（0x{host:x}）", "en": "depth {depth}  data in {name} at 0x{host:x}"},
    "chain-data-here": {"ja": "深さ{depth}  {name}のデータ", "en": "depth {depth}  data in {name}"},
    "chain-zero": {"ja": "深さ{depth}  {name}でゼロ", "en": "depth {depth}  zeros in {name}"},
    "chain-absent": {"ja": "深さ{depth}  どこにも割り当てなし: ゼロ", "en": "depth {depth}  not allocated anywhere: zeros"},
    # The report: host clusters and the check
    "clusters-title": {"ja": "== ホストのクラスター: ファイルの中に{size}のクラスターが{n}個 ==",
                       "en": "== Host clusters: {n} clusters of {size} in the file =="},
    "refcount-row": {"ja": "{span} 参照カウント{refcount}  {use}", "en": "{span} refcount {refcount}  {use}"},
    "use-header": {"ja": "ヘッダー、拡張、バッキングファイルの名前", "en": "header, extensions, backing file name"},
    "use-refcount-table": {"ja": "参照カウントテーブル", "en": "refcount table"},
    "use-refcount-block": {"ja": "参照カウントブロック", "en": "refcount block"},
    "use-l1": {"ja": "L1テーブル", "en": "L1 table"},
    "use-l2": {"ja": "L2テーブル", "en": "L2 table"},
    "use-data": {"ja": "データ", "en": "data"},
    "use-compressed": {"ja": "圧縮データ", "en": "compressed data"},
    "use-snapshot-table": {"ja": "スナップショットの表", "en": "snapshot table"},
    "use-encryption": {"ja": "暗号化のヘッダー", "en": "encryption header"},
    "use-bitmap-directory": {"ja": "ビットマップのディレクトリ", "en": "bitmap directory"},
    "use-bitmap-table": {"ja": "ビットマップの表", "en": "bitmap table"},
    "use-bitmap-data": {"ja": "ビットマップのデータ", "en": "bitmap data"},
    "use-unused": {"ja": "未使用", "en": "unused"},
    "of-snapshot": {"ja": "スナップショット{name}の{use}", "en": "{use} of snapshot {name}"},
    "use-guest": {"ja": "{use}（ゲストの0x{start:x}）", "en": "{use} (guest 0x{start:x})"},
    "use-guest-range": {"ja": "{use}（ゲストの0x{start:x}-0x{end:x}）", "en": "{use} (guest 0x{start:x}-0x{end:x})"},
    "histogram": {"ja": "参照カウント: {items}", "en": "refcounts: {items}"},
    "histogram-item": {"ja": "{refcount}が{clusters}", "en": "{clusters} at {refcount}"},
    "check-title": {"ja": "== 検査: 表から数え直した参照カウント（qemu-img checkと同じ） ==",
                    "en": "== Check: refcounts recounted from the tables (as qemu-img check) =="},
    "check-counts": {"ja": "割り当て済みのゲストのクラスター{allocated}個、断片化{fragmented}個、圧縮{compressed}個",
                     "en": "allocated guest clusters {allocated}, fragmented {fragmented}, compressed {compressed}"},
    "check-end": {"ja": "イメージの終わりのオフセット0x{offset:x}", "en": "image end offset 0x{offset:x}"},
    "check-ok": {"ja": "すべての参照カウントが参照の数と一致: リークなし、エラーなし",
                 "en": "every refcount matches the number of references: no leaks, no errors"},
    "check-leak": {"ja": "リーク: クラスター0x{offset:x}の参照カウントは{refcount}、参照は{refs}個",
                   "en": "leak: cluster 0x{offset:x} has refcount {refcount} but {refs} reference(s)"},
    "check-error": {"ja": "エラー: クラスター0x{offset:x}の参照カウントは{refcount}、参照は{refs}個",
                    "en": "ERROR: cluster 0x{offset:x} has refcount {refcount} but {refs} reference(s)"},
    # lookup(): one guest offset, step by step
    "lookup-title": {"ja": "== ゲストオフセット0x{offset:x}をたどる ==", "en": "== Lookup of guest offset 0x{offset:x} =="},
    "lookup-raw": {"ja": "{path}はrawのファイル: ゲストオフセット0x{offset:x}はファイルの0x{offset:x}",
                   "en": "{path} is a raw file: guest offset 0x{offset:x} is file offset 0x{offset:x}"},
    "lookup-geometry": {"ja": "{path}: クラスターの大きさ{size}、L2テーブル1つに{n}エントリ",
                        "en": "{path}: cluster size {size}, {n} entries per L2 table"},
    "lookup-cluster": {"ja": "ゲストのクラスター = 0x{guest:x} // {size} = {cluster}、クラスターの中の位置0x{within:x}",
                       "en": "guest cluster    = 0x{guest:x} // {size} = {cluster}, offset in cluster 0x{within:x}"},
    "lookup-l1-index": {"ja": "l1_index           = {cluster} // {n} = {index}",
                        "en": "l1_index         = {cluster} // {n} = {index}"},
    "lookup-l2-index": {"ja": "l2_index           = {cluster} % {n} = {index}",
                        "en": "l2_index         = {cluster} % {n} = {index}"},
    "lookup-no-l2": {"ja": "0x{at:x}のL1[{index}] = 0x{entry:016x}: L2テーブルがないので、"
                           "この範囲はこのファイルでは何も割り当てられていない",
                     "en": "L1[{index}] at 0x{at:x} = 0x{entry:016x}: no L2 table, so nothing in this "
                           "range is allocated here"},
    "lookup-l1-copied": {"ja": "0x{at:x}のL1[{index}] = 0x{entry:016x}: L2テーブルは0x{table:x}、COPIED（参照カウント1）",
                         "en": "L1[{index}] at 0x{at:x} = 0x{entry:016x}: L2 table at 0x{table:x}, COPIED (refcount 1)"},
    "lookup-l1-shared": {"ja": "0x{at:x}のL1[{index}] = 0x{entry:016x}: L2テーブルは0x{table:x}、COPIEDなし（共有）",
                         "en": "L1[{index}] at 0x{at:x} = 0x{entry:016x}: L2 table at 0x{table:x}, not COPIED (shared)"},
    "lookup-l2": {"ja": "0x{at:x}のL2[{index}] = 0x{entry:016x}: {what}",
                  "en": "L2[{index}] at 0x{at:x} = 0x{entry:016x}: {what}"},
    "lookup-l2-extended": {"ja": "0x{at:x}のL2[{index}] = 0x{entry:016x}、ビットマップ0x{bitmap:016x}、"
                                 "サブクラスター{sub}: {what}",
                           "en": "L2[{index}] at 0x{at:x} = 0x{entry:016x}, bitmap 0x{bitmap:016x}, "
                                 "subcluster {sub}: {what}"},
    "lookup-host": {"ja": "ホストのオフセット = 0x{base:x} + 0x{within:x} = 0x{host:x}（{path}の中）",
                    "en": "host offset      = 0x{base:x} + 0x{within:x} = 0x{host:x} in {path}"},
    "lookup-compressed": {"ja": "圧縮: 0x{host:x}から512バイトのセクター{sectors}、{method}",
                          "en": "compressed: {sectors} of 512 bytes from 0x{host:x}, {method}"},
    "lookup-zero": {"ja": "ゼロフラグ: この範囲はゼロとして読める。どのファイルも読まない（バッキングファイルも）",
                    "en": "zero flag: the range reads as zeros, without reading any file, not even the backing file"},
    "lookup-no-backing": {"ja": "バッキングファイルなし: この範囲はゼロとして読める",
                          "en": "no backing file: the range reads as zeros"},
    "lookup-backing-unopened": {"ja": "読み出しはバッキングファイル{backing}へ行くが、開けない（{problem}）",
                                "en": "the read goes to the backing file {backing}, which cannot be opened ({problem})"},
    "lookup-beyond-backing": {"ja": "バッキングファイル（{size}バイト）の終わりより後: ゼロとして読める",
                              "en": "beyond the end of the backing file ({size} bytes): reads as zeros"},
    "lookup-to-backing": {"ja": "ここでは未割り当て: 読み出しはバッキングファイル{backing}へ行く",
                          "en": "not allocated here: the read goes to the backing file {backing}"},
    "bytes-there": {"ja": "そこにあるバイト: {bytes}", "en": "bytes there: {bytes}"},
    "bytes-decompressed": {"ja": "そこにあるバイト（伸長後）: {bytes}", "en": "bytes there (decompressed): {bytes}"},
    "bytes-not-shown": {"ja": "そこにあるバイト: 表示しません（伸長できるのはzlibのクラスターだけです）",
                        "en": "bytes there: not shown (this inspector decompresses only zlib clusters)"},
    "no-bytes": {"ja": "（なし）", "en": "(none)"},
    # Errors: what could not be read
    "truncated-read": {"ja": "途中で切れています: 0x{offset:x}からの{what}（{length}バイト）が"
                             "ファイルの終わり（{size}バイト）を越えます",
                       "en": "truncated: {what} at 0x{offset:x} ({length} bytes) goes past the end of "
                             "the file ({size} bytes)"},
    "truncated-short": {"ja": "途中で切れています: {what}の{length}バイトのうち{got}バイトしか読めません",
                        "en": "truncated: could read only {got} of {length} bytes of {what}"},
    "what-magic": {"ja": "マジックナンバー", "en": "the magic"},
    "what-header": {"ja": "ヘッダー", "en": "the header"},
    "what-header-v3": {"ja": "版3のヘッダー", "en": "the version 3 header"},
    "what-compression-type": {"ja": "compression_type", "en": "compression_type"},
    "what-extension": {"ja": "ヘッダー拡張", "en": "a header extension"},
    "what-extension-data": {"ja": "ヘッダー拡張0x{type:08x}", "en": "header extension 0x{type:08x}"},
    "what-l1": {"ja": "L1テーブル", "en": "the L1 table"},
    "what-l2": {"ja": "L1[{index}]のL2テーブル", "en": "the L2 table for L1[{index}]"},
    "what-backing-name": {"ja": "バッキングファイルの名前", "en": "the backing file name"},
    "what-snapshot-entry": {"ja": "スナップショットの表のエントリ", "en": "a snapshot table entry"},
    "what-snapshot-extra": {"ja": "スナップショットの追加データ", "en": "a snapshot's extra data"},
    "what-snapshot-name": {"ja": "スナップショットの名前", "en": "a snapshot's name"},
    "what-snapshot-l1": {"ja": "スナップショット{name}のL1テーブル", "en": "snapshot {name}'s L1 table"},
    "what-refcount-table": {"ja": "参照カウントテーブル", "en": "the refcount table"},
    "what-refcount-block": {"ja": "参照カウントブロック", "en": "a refcount block"},
    "what-bitmap-directory": {"ja": "ビットマップのディレクトリ", "en": "the bitmap directory"},
    "what-bitmap-table": {"ja": "ビットマップの表", "en": "a bitmap table"},
    # Errors: what is wrong with the image
    "not-qcow2": {"ja": "qcow2のイメージではありません: 先頭が{bytes}で、マジックナンバー'QFI\\xfb'"
                        "（51 46 49 fb）ではありません。rawのイメージにはヘッダーがありません",
                  "en": "not a qcow2 image: it starts with {bytes}, not the magic 'QFI\\xfb' "
                        "(51 46 49 fb); a raw image has no header at all"},
    "not-qcow2-empty": {"ja": "qcow2のイメージではありません: 空のファイルです",
                        "en": "not a qcow2 image: it starts with nothing (an empty file)"},
    "version-1": {"ja": "対応していないqcow2の版1です（版1は元のQCOWの形式で、qcow2ではありません）。"
                        "このプログラムが読めるのは版2と版3です",
                  "en": "unsupported qcow2 version 1 (version 1 is the original QCOW format, not qcow2); "
                        "this inspector reads versions 2 and 3"},
    "version-other": {"ja": "対応していないqcow2の版{version}です。このプログラムが読めるのは版2と版3です",
                      "en": "unsupported qcow2 version {version}; this inspector reads versions 2 and 3"},
    "header-length": {"ja": "ヘッダーが壊れています: header_lengthが{length}です（版3では104以上の8の倍数）",
                      "en": "corrupt header: header_length {length} (version 3 needs at least 104, a multiple of 8)"},
    "cluster-bits": {"ja": "対応していないcluster_bits {bits}です: 仕様は9（512バイト）以上を求め、"
                           "QEMUが開くのは21（2 MiB）までです",
                     "en": "unsupported cluster_bits {bits}: the specification needs at least 9 (512 bytes) "
                           "and QEMU opens at most 21 (2 MiB)"},
    "refcount-order": {"ja": "ヘッダーが壊れています: refcount_orderが{order}です（6まで）",
                       "en": "corrupt header: refcount_order {order} (at most 6)"},
    "l1-too-small": {"ja": "ヘッダーが壊れています: l1_sizeが{l1_size}では仮想ディスクの大きさ{size}を"
                           "表せません（{need}エントリ必要）",
                     "en": "corrupt header: l1_size {l1_size} cannot cover the virtual size {size} "
                           "(needs {need} entries)"},
    "header-misaligned": {"ja": "ヘッダーが壊れています: {name}の0x{offset:x}がクラスター（{size}バイト）の"
                                "境界にそろっていません",
                          "en": "corrupt header: {name} 0x{offset:x} is not aligned to a cluster ({size} bytes)"},
    "backing-name-size": {"ja": "ヘッダーが壊れています: backing_file_sizeが{size}です（1023まで）",
                          "en": "corrupt header: backing_file_size {size} (at most 1023)"},
    "extensions-too-long": {"ja": "ヘッダーが壊れています: ヘッダー拡張が最初のクラスターを越えています",
                            "en": "corrupt header: the header extensions run past the first cluster"},
    "feature-named": {"ja": "「{name}」（ビット{bit}）", "en": "'{name}' (bit {bit})"},
    "feature-unnamed": {"ja": "ビット{bit}（イメージに名前の記録なし）", "en": "bit {bit}, not named in the image"},
    "unsupported-feature": {"ja": "対応していない非互換の機能{feature}があります。仕様では、実装していない"
                                  "非互換の機能を持つイメージを、読む側は拒まなければなりません",
                            "en": "unsupported incompatible feature {feature}: the specification says a "
                                  "reader must refuse an image with an incompatible feature it does not "
                                  "implement"},
    "l1-misaligned": {"ja": "L1テーブルが壊れています: L1[{index}] = 0x{entry:016x}が指す0x{offset:x}は、"
                            "クラスターの境界にそろっていません",
                      "en": "corrupt L1 table: L1[{index}] = 0x{entry:016x} points to 0x{offset:x}, which "
                            "is not aligned to a cluster"},
    "l2-misaligned": {"ja": "L2テーブルが壊れています: {where} = 0x{entry:016x}が指す0x{offset:x}は、"
                            "クラスターの境界にそろっていません",
                      "en": "corrupt L2 table: {where} = 0x{entry:016x} points to 0x{offset:x}, which is "
                            "not aligned to a cluster"},
    "bad-bitmap": {"ja": "L2テーブルが壊れています: {where}のサブクラスターのビットマップ0x{bitmap:016x}が"
                         "正しくありません",
                   "en": "corrupt L2 table: {where} has an invalid subcluster bitmap 0x{bitmap:016x}"},
    "where-l2": {"ja": "0x{table:x}の表のL2[{index}]", "en": "L2[{index}] of the table at 0x{table:x}"},
    "points-to-l2": {"ja": "L1[{index}] = 0x{entry:016x}がL2テーブルとして",
                     "en": "L1[{index}] = 0x{entry:016x} points to an L2 table"},
    "points-to-compressed": {"ja": "{where} = 0x{entry:016x}が圧縮データとして",
                             "en": "{where} = 0x{entry:016x} points to compressed data"},
    "points-to-cluster": {"ja": "{where} = 0x{entry:016x}がクラスターとして",
                          "en": "{where} = 0x{entry:016x} points to a cluster"},
    "outside-truncated": {"ja": "途中で切れています: {what}0x{offset:x}を指しますが、ファイル（{size}バイト）の"
                                "外です。参照カウントではそのクラスターは使用中なので、ファイルが途中で切れています",
                          "en": "truncated: {what} at 0x{offset:x}, outside the file ({size} bytes); the "
                                "refcounts say that cluster is in use, so the file has been cut short"},
    "outside-corrupt": {"ja": "{table}が壊れています: {what}0x{offset:x}を指しますが、ファイル（{size}バイト）の"
                              "外で、そのクラスターを使用中とする参照カウントもありません",
                        "en": "corrupt {table}: {what} at 0x{offset:x}, outside the file ({size} bytes), "
                              "and no refcount claims that cluster"},
    "refcount-table-entry": {"ja": "参照カウントテーブルが壊れています: エントリ{index}が指す0x{offset:x}は、"
                                   "ファイルの中のクラスターではありません",
                             "en": "corrupt refcount table: entry {index} points to 0x{offset:x}, not a "
                                   "cluster inside the file"},
    "chain-loop": {"ja": "バッキングファイルの鎖が{path}に戻っています（ループ）",
                   "en": "the backing chain loops back to {path}"},
    "not-local": {"ja": "{name}はローカルのファイルの名前ではありません", "en": "{name} is not the name of a local file"},
    "chain-broken": {"ja": "バッキングファイルの鎖をたどれません: {problem}",
                     "en": "cannot follow the backing chain: {problem}"},
    "bad-compressed": {"ja": "0x{offset:x}の圧縮されたクラスターが壊れています: {error}",
                       "en": "corrupt compressed cluster at 0x{offset:x}: {error}"},
    "beyond-disk": {"ja": "ゲストオフセット0x{offset:x}は仮想ディスク（{size}バイト）の外です",
                    "en": "guest offset 0x{offset:x} is beyond the virtual disk ({size} bytes)"},
    # main(): arguments and how errors are printed
    "description": {"ja": "qcow2のイメージの中をのぞきます（読むだけで、書き換えません）。",
                    "en": "Look inside a qcow2 image (read-only)."},
    "help-image": {"ja": "qcow2のイメージのファイル", "en": "a qcow2 image file"},
    "help-offset": {"ja": "ゲストオフセットを1つ、手順を追って引く", "en": "look up one guest offset step by step"},
    "help-show": {"ja": "表示する節（既定: {default}）", "en": "sections (default: {default})"},
    "help-map-json": {"ja": "鎖をたどったマップをqemu-img mapのJSONの形で表示",
                      "en": "print the chain map as qemu-img map JSON"},
    "help-all": {"ja": "L2エントリとホストのクラスターをすべて表示", "en": "list every L2 entry and host cluster"},
    "not-an-offset": {"ja": "オフセットではありません: {text}（65536、0x10000、64k、1Mのように書きます）",
                      "en": "not an offset: {text} (write 65536, 0x10000, 64k or 1M)"},
    "unknown-section": {"ja": "知らない節です: {names}（選べるのは{choices}）",
                        "en": "unknown section {names} (choose from {choices})"},
    "error": {"ja": "エラー: {path}: {message}", "en": "error: {path}: {message}"},
    "cannot-read": {"ja": "エラー: {path}を読めません: {reason}", "en": "error: cannot read {path}: {reason}"},
}


MAGIC = b"QFI\xfb"
SHOW_DEFAULT = "header,snapshots,l1,l2,map,chain,refcounts,check"
LIST_LIMIT = 16          # L2 entries and host clusters listed per table without --all


class Qcow2Error(Exception):
    """A problem with the image, reported as one line: never a traceback."""


def human(n: int) -> str:
    """65536 -> 64 KiB, 1536 -> 1.5 KiB, 100 -> 100 bytes (binary units, as qemu-img uses)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            value = f"{n / (1 << shift):.2f}".rstrip("0").rstrip(".")
            return f"{value} {unit}"
    return say("n-bytes", n=n)


def count(n: int, one: str, many: str) -> str:
    """say(one) for 1, else say(many, n=n): "1 entry", "2 entries"."""
    return say(one) if n == 1 else say(many, n=n)


def width(text: str) -> int:
    """Columns on a terminal: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    space = " " * max(0, columns - width(text))
    return space + text if right else text + space


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)\s*([kKmMgG]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(say("not-an-offset", text=repr(text)))
    number = int(match.group(1), 0)
    return number << {"": 0, "k": 10, "m": 20, "g": 30}[match.group(2).lower()]


# --8<-- [start:features]
# "Header", bytes 72-95: three bitmasks of features. A reader must refuse an image with an
# incompatible bit it does not know; it may ignore unknown compatible and autoclear bits.
INCOMPATIBLE = {0: "dirty", 1: "corrupt", 2: "external data file", 3: "compression type",
                4: "extended L2 entries"}
COMPATIBLE = {0: "lazy refcounts"}
AUTOCLEAR = {0: "bitmaps", 1: "raw external data"}
SUPPORTED_INCOMPATIBLE = {0, 1, 3, 4}   # external data files (bit 2) are not followed here
EXTENSIONS = {0xE2792ACA: "backing file format", 0x6803F857: "feature name table",
              0x23852875: "bitmaps", 0x0537BE77: "full disk encryption header",
              0x44415441: "external data file name"}
# --8<-- [end:features]


def bits(mask: int) -> list[int]:
    return [bit for bit in range(64) if mask >> bit & 1]


@dataclass
class Mapping:
    """What one guest cluster (or subcluster) is, according to its L2 entry."""
    kind: str                   # data | compressed | zero | unallocated
    host: int | None = None     # host offset of the (sub)cluster, if the entry has one
    copied: bool = False        # bit 63: refcount exactly 1, a write may go in place
    sectors: int = 0            # compressed: 512-byte sectors the compressed data spans


@dataclass
class Snapshot:
    id: str
    name: str
    l1_table_offset: int
    l1_size: int
    vm_state_size: int
    disk_size: int | None
    entry_offset: int


# --8<-- [start:header]
@dataclass
class Image:
    """One qcow2 file, opened read-only. Fields are named as in the specification."""
    path: str
    file: object = field(repr=False)
    file_size: int = 0
    backing: object = field(default=None, repr=False)     # Image | RawImage | None
    backing_problem: str | None = None
    notes: list[str] = field(default_factory=list)

    def read(self, offset: int, length: int, what: str) -> bytes:
        if offset < 0 or offset + length > self.file_size:
            raise Qcow2Error(say("truncated-read", what=what, offset=offset, length=length,
                                 size=self.file_size))
        self.file.seek(offset)
        data = self.file.read(length)
        if len(data) != length:
            raise Qcow2Error(say("truncated-short", got=len(data), length=length, what=what))
        return data

    def parse_header(self) -> None:
        start = self.read(0, min(self.file_size, 4), say("what-magic"))
        if start != MAGIC:
            if not start:
                raise Qcow2Error(say("not-qcow2-empty"))
            raise Qcow2Error(say("not-qcow2", bytes=" ".join(f"{b:02x}" for b in start)))
        (_, self.version, self.backing_file_offset, self.backing_file_size, self.cluster_bits,
         self.size, self.crypt_method, self.l1_size, self.l1_table_offset,
         self.refcount_table_offset, self.refcount_table_clusters, self.nb_snapshots,
         self.snapshots_offset) = struct.unpack(">4sIQIIQIIQQIIQ", self.read(0, 72, say("what-header")))
        if self.version == 1:
            raise Qcow2Error(say("version-1"))
        if self.version not in (2, 3):
            raise Qcow2Error(say("version-other", version=self.version))
        # Version 2 stops at byte 72; version 3 adds the fields up to header_length.
        self.incompatible = self.compatible = self.autoclear = 0
        self.refcount_order, self.header_length, self.compression_type = 4, 72, 0
        if self.version == 3:
            (self.incompatible, self.compatible, self.autoclear, self.refcount_order,
             self.header_length) = struct.unpack(">QQQII", self.read(72, 32, say("what-header-v3")))
            if self.header_length < 104 or self.header_length % 8:
                raise Qcow2Error(say("header-length", length=self.header_length))
            if self.header_length > 104:   # "Additional fields": byte 104 compression_type
                self.compression_type = self.read(104, 1, say("what-compression-type"))[0]
        if not 9 <= self.cluster_bits <= 21:
            raise Qcow2Error(say("cluster-bits", bits=self.cluster_bits))
        if self.refcount_order > 6:
            raise Qcow2Error(say("refcount-order", order=self.refcount_order))
        self.cluster_size = 1 << self.cluster_bits
        self.refcount_bits = 1 << self.refcount_order
        self.parse_extensions()
        self.check_features()
        # "Extended L2 Entries": 128-bit entries, 32 subclusters per cluster.
        self.extended_l2 = bool(self.incompatible & 1 << 4)
        self.l2_entry_size = 16 if self.extended_l2 else 8
        self.l2_entries = self.cluster_size // self.l2_entry_size
        self.subclusters = 32 if self.extended_l2 else 1
        self.subcluster_size = self.cluster_size // self.subclusters
        need = -(-self.size // (self.cluster_size * self.l2_entries))   # ceiling division
        if self.l1_size < need:
            raise Qcow2Error(say("l1-too-small", l1_size=self.l1_size, size=self.size, need=need))
        for name in ("l1_table_offset", "refcount_table_offset"):
            if getattr(self, name) % self.cluster_size:
                raise Qcow2Error(say("header-misaligned", name=name, offset=getattr(self, name),
                                     size=self.cluster_size))
        raw = self.read(self.l1_table_offset, 8 * self.l1_size, say("what-l1"))
        self.l1 = list(struct.unpack(f">{self.l1_size}Q", raw))
        self.backing_file = None
        if self.backing_file_offset:
            if self.backing_file_size > 1023:
                raise Qcow2Error(say("backing-name-size", size=self.backing_file_size))
            name = self.read(self.backing_file_offset, self.backing_file_size, say("what-backing-name"))
            self.backing_file = name.decode("utf-8", "replace")
        self.snapshots = self.parse_snapshots()
# --8<-- [end:header]

    def parse_extensions(self) -> None:
        """"Header extensions": type, length, data padded to 8 bytes, until type 0."""
        self.extensions, self.feature_names = [], {}
        self.backing_format = self.bitmaps = self.crypto_header = None
        offset = self.header_length
        while True:
            ext_type, length = struct.unpack(">II", self.read(offset, 8, say("what-extension")))
            if ext_type == 0:
                break
            data = self.read(offset + 8, length, say("what-extension-data", type=ext_type))
            self.extensions.append((ext_type, length))
            if ext_type == 0xE2792ACA:
                self.backing_format = data.decode("utf-8", "replace")
            elif ext_type == 0x6803F857:        # "Feature name table": 48-byte entries
                for i in range(0, length - 47, 48):
                    kind, bit = data[i], data[i + 1]
                    self.feature_names[kind, bit] = data[i + 2:i + 48].rstrip(b"\0").decode("utf-8", "replace")
            elif ext_type == 0x23852875 and length >= 24:   # "Bitmaps extension"
                self.bitmaps = struct.unpack(">I4xQQ", data[:24])
            elif ext_type == 0x0537BE77 and length >= 16:   # "Full disk encryption header pointer"
                self.crypto_header = struct.unpack(">QQ", data[:16])
            offset += 8 + (length + 7) // 8 * 8
            if offset >= self.cluster_size:
                raise Qcow2Error(say("extensions-too-long"))

    def check_features(self) -> None:
        for bit in bits(self.incompatible):
            if bit in SUPPORTED_INCOMPATIBLE:
                continue
            name = INCOMPATIBLE.get(bit) or self.feature_names.get((0, bit))
            named = say("feature-named", name=name, bit=bit) if name else say("feature-unnamed", bit=bit)
            raise Qcow2Error(say("unsupported-feature", feature=named))
        if self.incompatible & 1:
            self.notes.append(say("note-dirty"))
        if self.incompatible & 2:
            self.notes.append(say("note-corrupt"))
        if self.crypt_method:
            self.notes.append(say("note-encrypted"))

    def parse_snapshots(self) -> list[Snapshot]:
        """"Snapshots": a table of variable-length entries, each padded to 8 bytes."""
        snapshots, offset = [], self.snapshots_offset
        for _ in range(self.nb_snapshots):
            (l1_offset, l1_size, id_size, name_size, _, _, _, vm_state,
             extra_size) = struct.unpack(">QIHHIIQII", self.read(offset, 40, say("what-snapshot-entry")))
            extra = self.read(offset + 40, extra_size, say("what-snapshot-extra"))
            if extra_size >= 8:
                vm_state = struct.unpack(">Q", extra[:8])[0]
            disk_size = struct.unpack(">Q", extra[8:16])[0] if extra_size >= 16 else None
            strings = self.read(offset + 40 + extra_size, id_size + name_size, say("what-snapshot-name"))
            snapshots.append(Snapshot(strings[:id_size].decode("utf-8", "replace"),
                                      strings[id_size:].decode("utf-8", "replace"),
                                      l1_offset, l1_size, vm_state, disk_size, offset))
            offset += (40 + extra_size + id_size + name_size + 7) // 8 * 8
        self.snapshots_end = offset
        return snapshots

    # --8<-- [start:l2-entry]
    def l2_table(self, l1_index: int, l1: list[int] | None = None) -> tuple[int, list[int]] | None:
        """"Cluster mapping", L1 table entry: bits 9-55 are the L2 table's offset, 0 if none."""
        entry = (self.l1 if l1 is None else l1)[l1_index]
        offset = entry & 0x00FFFFFFFFFFFE00
        if not offset:
            return None
        if offset % self.cluster_size:
            raise Qcow2Error(say("l1-misaligned", index=l1_index, entry=entry, offset=offset))
        if offset >= self.file_size:
            self.outside(offset, "use-l1", say("points-to-l2", index=l1_index, entry=entry))
        cache = self.__dict__.setdefault("_l2_cache", {})
        if offset not in cache:
            raw = self.read(offset, self.cluster_size, say("what-l2", index=l1_index))
            cache[offset] = list(struct.unpack(f">{self.cluster_size // 8}Q", raw))
        return offset, cache[offset]

    def decode(self, entry: int, bitmap: int, sub: int, where: str) -> Mapping:
        """One L2 entry (and, with extended L2 entries, its subcluster bitmap) -> a Mapping."""
        copied = bool(entry >> 63)
        if entry >> 62 & 1:
            # "Compressed Clusters Descriptor": x = 62 - (cluster_bits - 8); bits 0..x-1 are
            # the host offset (not aligned), bits x..61 the number of additional sectors.
            x = 62 - (self.cluster_bits - 8)
            host = entry & ((1 << x) - 1)
            sectors = (entry >> x & ((1 << (62 - x)) - 1)) + 1
            if host >= self.file_size:
                self.outside(host, "use-l2", say("points-to-compressed", where=where, entry=entry))
            return Mapping("compressed", host, False, sectors)
        # "Standard Cluster Descriptor": bits 9-55 host cluster offset, bit 0 "reads as zeros".
        host = entry & 0x00FFFFFFFFFFFE00
        if host and host % self.cluster_size:
            raise Qcow2Error(say("l2-misaligned", where=where, entry=entry, offset=host))
        if host and host >= self.file_size:
            self.outside(host, "use-l2", say("points-to-cluster", where=where, entry=entry))
        if self.extended_l2:
            # "Extended L2 Entries": bit x allocates subcluster x, bit 32+x makes it read as zeros.
            if bitmap >> 32 & bitmap or (not host and bitmap & 0xFFFFFFFF):
                raise Qcow2Error(say("bad-bitmap", where=where, bitmap=bitmap))
            sub_host = host + sub * self.subcluster_size if host else None
            if bitmap >> (32 + sub) & 1:
                return Mapping("zero", sub_host, copied)
            if bitmap >> sub & 1:
                return Mapping("data", sub_host, copied)
            return Mapping("unallocated", sub_host, copied)
        if entry & 1 and self.version >= 3:
            return Mapping("zero", host or None, copied)
        if host:
            return Mapping("data", host, copied)
        return Mapping("unallocated")
    # --8<-- [end:l2-entry]

    def outside(self, offset: int, table: str, what: str) -> None:
        """A pointer past the end of the file: a file cut short, or a corrupt table entry?"""
        try:
            in_use = self.refcount(offset // self.cluster_size) > 0
        except Qcow2Error:
            in_use = True                # the refcount structures are cut off as well
        if in_use:
            raise Qcow2Error(say("outside-truncated", what=what, offset=offset, size=self.file_size))
        raise Qcow2Error(say("outside-corrupt", table=say(table), what=what, offset=offset,
                             size=self.file_size))

    def refcount(self, cluster: int) -> int:
        """The refcount of one host cluster, looked up as "Host cluster management" shows."""
        per_block = self.cluster_size * 8 // self.refcount_bits     # refcount_block_entries
        table_index, block_index = divmod(cluster, per_block)
        if table_index >= self.refcount_table_clusters * self.cluster_size // 8:
            return 0
        entry = struct.unpack(">Q", self.read(self.refcount_table_offset + 8 * table_index, 8,
                                              say("what-refcount-table")))[0]
        if not entry & ~0x1FF:
            return 0
        bit = block_index * self.refcount_bits
        raw = self.read((entry & ~0x1FF) + bit // 8, max(1, self.refcount_bits // 8),
                        say("what-refcount-block"))
        if self.refcount_bits >= 8:
            return int.from_bytes(raw, "big")
        return raw[0] >> (bit % 8) & ((1 << self.refcount_bits) - 1)

    def where(self, table: int, index: int) -> str:
        return say("where-l2", index=index, table=table)

    def mapping(self, guest: int, l1: list[int] | None = None) -> Mapping:
        """The Mapping of the (sub)cluster that holds guest offset `guest`."""
        cluster = guest // self.cluster_size
        l1_index, l2_index = divmod(cluster, self.l2_entries)
        table = self.l2_table(l1_index, l1)
        if table is None:
            return Mapping("unallocated")
        entry, bitmap = self.l2_entry(table[1], l2_index)
        sub = guest % self.cluster_size // self.subcluster_size
        return self.decode(entry, bitmap, sub, self.where(table[0], l2_index))

    def l2_entry(self, table: list[int], index: int) -> tuple[int, int]:
        if self.extended_l2:
            return table[2 * index], table[2 * index + 1]
        return table[index], 0

    def used_entries(self, l1: list[int] | None = None):
        """Every L1 entry with an L2 table, and every non-zero entry in it."""
        l1 = self.l1 if l1 is None else l1
        for l1_index in range(len(l1)):
            table = self.l2_table(l1_index, l1)
            if table is None:
                continue
            entries = [(i, *self.l2_entry(table[1], i)) for i in range(self.l2_entries)]
            yield l1_index, table[0], [(i, e, b) for i, e, b in entries if e or b]

    # --8<-- [start:refcounts]
    def refcounts(self) -> dict[int, int]:
        """"Host cluster management": the refcount of every host cluster that has one."""
        table_bytes = self.refcount_table_clusters * self.cluster_size
        raw = self.read(self.refcount_table_offset, table_bytes, say("what-refcount-table"))
        per_block = self.cluster_size * 8 // self.refcount_bits    # refcount_block_entries
        counts = {}
        for table_index, entry in enumerate(struct.unpack(f">{table_bytes // 8}Q", raw)):
            block = entry & ~0x1FF               # bits 9-63: the refcount block's offset
            if not block:
                continue                         # 0: not allocated, all its refcounts are 0
            if block % self.cluster_size or block + self.cluster_size > self.file_size:
                raise Qcow2Error(say("refcount-table-entry", index=table_index, offset=block))
            data = self.read(block, self.cluster_size, say("what-refcount-block"))
            for i in range(per_block):
                if self.refcount_bits >= 8:      # big-endian, like every number in qcow2
                    size = self.refcount_bits // 8
                    value = int.from_bytes(data[i * size:(i + 1) * size], "big")
                else:                            # sub-byte widths: bit 0 is the lowest bit
                    bit = i * self.refcount_bits
                    value = data[bit // 8] >> (bit % 8) & ((1 << self.refcount_bits) - 1)
                if value:
                    counts[table_index * per_block + i] = value
        return counts
    # --8<-- [end:refcounts]


@dataclass
class RawImage:
    """A raw backing file: guest offset = file offset; holes in a sparse file read as zeros."""
    path: str
    file: object = field(repr=False)
    file_size: int = 0

    @property
    def size(self) -> int:
        return self.file_size

    def status(self, offset: int, length: int) -> tuple[str, int, int]:
        end = min(offset + length, self.file_size)
        fd = self.file.fileno()
        if not hasattr(os, "SEEK_DATA"):         # not on this OS: treat it all as data
            return "data", offset, end - offset
        try:
            data = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as error:
            if error.errno != errno.ENXIO:       # the file system cannot tell: all data
                return "data", offset, end - offset
            data = self.file_size                # ENXIO: no data after offset
        if data > offset:
            return "zero", offset, min(data, end) - offset
        hole = os.lseek(fd, offset, os.SEEK_HOLE)
        return "data", offset, min(hole, end) - offset


def open_image(path: str, seen: frozenset = frozenset(), fmt: str | None = None):
    """Open a qcow2 image (or a raw backing file) and, where possible, its backing chain."""
    real = os.path.realpath(path)
    if real in seen:
        raise Qcow2Error(say("chain-loop", path=path))
    file = open(path, "rb")
    file_size = os.fstat(file.fileno()).st_size
    if fmt == "raw" or (fmt is None and seen and file.read(4) != MAGIC):
        return RawImage(path, file, file_size)
    image = Image(path, file, file_size)
    try:
        image.parse_header()
    except BaseException:
        file.close()
        raise
    if image.backing_file:
        name = image.backing_file
        if ":" in name.split("/")[0] or "\0" in name:
            image.backing_problem = say("not-local", name=repr(name))
            return image
        # QEMU resolves a relative backing file name from the directory of this image.
        backing = os.path.join(os.path.dirname(path), name)
        try:
            image.backing = open_image(backing, seen | {real}, image.backing_format)
        except OSError as error:
            image.backing_problem = f"{name}: {error.strerror}"
        except Qcow2Error as error:
            image.backing_problem = f"{name}: {error}"
    return image


def layer_status(layer, offset: int, length: int) -> tuple[str, int | None, int, bool]:
    """(kind, host offset or None, length, compressed) of the run at `offset` in one layer."""
    if isinstance(layer, RawImage):
        kind, host, length = layer.status(offset, length)
        return kind, host, length, False
    end = min(offset + length, layer.size)
    first, host, pos = None, None, offset
    while pos < end:
        span = layer.l2_entries * layer.cluster_size
        if not layer.l1[pos // span]:                 # no L2 table: the whole span is unallocated
            m, step_end = Mapping("unallocated"), (pos // span + 1) * span
        else:
            m, step_end = layer.mapping(pos), (pos // layer.subcluster_size + 1) * layer.subcluster_size
        here = None if m.host is None else m.host + pos % layer.subcluster_size
        if m.kind == "compressed" or layer.crypt_method:
            here = None              # no single host offset to report, as qemu-img map
        if first is None:
            first, host = m, here
        elif m.kind != first.kind or (here is None) != (host is None) or \
                (host is not None and here != host + (pos - offset)):
            break                    # a different kind of range starts here
        pos = min(step_end, end)
    return first.kind, host, pos - offset, first.kind == "compressed"


# --8<-- [start:chain]
def chain_map(top) -> list[dict]:
    """What a read of each guest range returns, walking down the backing chain.

    The same records as `qemu-img map --output=json`: depth is how many backing files
    down the answer was found; present says whether some layer allocates the range.
    """
    records, offset = [], 0
    while offset < top.size:
        layer, depth, length = top, 0, top.size - offset
        while True:
            kind, host, length, compressed = layer_status(layer, offset, length)
            if kind != "unallocated":
                present, zero, data = True, kind == "zero", kind in ("data", "compressed")
                break
            below = getattr(layer, "backing", None)
            if below is None and getattr(layer, "backing_file", None):
                raise Qcow2Error(say("chain-broken", problem=layer.backing_problem))
            if below is None or offset >= below.size:
                present, zero, data = False, True, False   # nothing below: reads as zeros
                break
            layer, depth = below, depth + 1
        record = {"start": offset, "length": length, "depth": depth, "present": present,
                  "zero": zero, "data": data, "compressed": compressed}
        if host is not None:
            record["offset"] = host
        last = records[-1] if records else None
        if last and all(last[k] == record[k] for k in ("depth", "present", "zero", "data", "compressed")) \
                and ("offset" in last) == ("offset" in record) \
                and ("offset" not in last or last["offset"] + last["length"] == record["offset"]):
            last["length"] += length        # merge, as qemu-img map does
        else:
            records.append(record)
        offset += length
    return records
# --8<-- [end:chain]


def this_file_map(image: Image) -> list[tuple[int, int, str, int | None]]:
    """(start, length, what, host) for the image alone; what names a map-* message."""
    rows, offset = [], 0
    while offset < image.size:
        kind, host, length, _ = layer_status(image, offset, image.size - offset)
        if kind == "unallocated":
            if not image.backing_file:
                what = "map-no-backing"
            elif image.backing is not None and offset >= image.backing.size:
                what = "map-beyond-backing"
                length = min(length, image.size - offset)
            else:
                what = "map-backing"
                if image.backing is not None:
                    length = min(length, image.backing.size - offset)
            host = None
        elif kind == "zero":
            what = "map-zero-flag" if host is None else "map-zero-flag-kept"
        elif kind == "compressed":
            what = "map-compressed"
        else:
            what = "map-data" if host is not None else "map-data-no-offset"   # encrypted: no offset
        last = rows[-1] if rows else None
        if last and last[2] == what and (last[3] is None) == (host is None) and \
                (host is None or last[3] + last[1] == host):
            rows[-1] = (last[0], last[1] + length, what, last[3])
        else:
            rows.append((offset, length, what, host))
        offset += length
    return rows


# --8<-- [start:lookup]
def lookup(image, guest: int, out: list[str], indent: str = "", limit: int = 16) -> None:
    """Translate one guest offset the way the specification's "Cluster mapping" does."""
    def line(key: str, **values) -> None:
        out.append(indent + say(key, **values))
    if isinstance(image, RawImage):
        line("lookup-raw", path=image.path, offset=guest)
        line("bytes-there", bytes=dump(read_at(image, guest, limit)))
        return
    cs = image.cluster_size
    cluster, in_cluster = divmod(guest, cs)
    l1_index, l2_index = divmod(cluster, image.l2_entries)
    unit = image.subcluster_size
    limit = min(limit, unit - guest % unit, image.size - guest)   # stay inside this (sub)cluster
    line("lookup-geometry", path=image.path, size=cs, n=image.l2_entries)
    line("lookup-cluster", guest=guest, size=cs, cluster=cluster, within=in_cluster)
    line("lookup-l1-index", cluster=cluster, n=image.l2_entries, index=l1_index)
    line("lookup-l2-index", cluster=cluster, n=image.l2_entries, index=l2_index)
    l1_entry = image.l1[l1_index]
    at = image.l1_table_offset + 8 * l1_index
    table = image.l2_table(l1_index)
    if table is None:
        line("lookup-no-l2", index=l1_index, at=at, entry=l1_entry)
        m = Mapping("unallocated")
    else:
        line("lookup-l1-copied" if l1_entry >> 63 else "lookup-l1-shared",
             index=l1_index, at=at, entry=l1_entry, table=table[0])
        entry, bitmap = image.l2_entry(table[1], l2_index)
        at = table[0] + image.l2_entry_size * l2_index
        sub = in_cluster // unit
        m = image.decode(entry, bitmap, sub, image.where(table[0], l2_index))
        if image.extended_l2:
            line("lookup-l2-extended", index=l2_index, at=at, entry=entry, bitmap=bitmap, sub=sub,
                 what=describe(m))
        else:
            line("lookup-l2", index=l2_index, at=at, entry=entry, what=describe(m))
    if m.kind == "data":
        host = m.host + guest % unit
        line("lookup-host", base=m.host, within=guest % unit, host=host, path=image.path)
        data = read_at(image, host, limit)
        line("bytes-there", bytes=dump(data + bytes(limit - len(data))))   # past the end: zeros
    elif m.kind == "compressed":
        method = {0: "zlib (deflate)", 1: "zstd"}.get(image.compression_type) or say("unknown")
        line("lookup-compressed", sectors=count(m.sectors, "one-sector", "n-sectors"), host=m.host,
             method=method)
        data = decompress(image, m)
        if data:
            line("bytes-decompressed", bytes=dump(data[in_cluster:in_cluster + limit]))
        else:
            line("bytes-not-shown")
    elif m.kind == "zero":
        line("lookup-zero")
        line("bytes-there", bytes=dump(bytes(limit)))
    elif not image.backing_file:
        line("lookup-no-backing")
        line("bytes-there", bytes=dump(bytes(limit)))
    elif image.backing is None:
        line("lookup-backing-unopened", backing=image.backing_file, problem=image.backing_problem)
    elif guest >= image.backing.size:
        line("lookup-beyond-backing", size=image.backing.size)
        line("bytes-there", bytes=dump(bytes(limit)))
    else:
        line("lookup-to-backing", backing=image.backing_file)
        lookup(image.backing, guest, out, indent + "  ", min(limit, image.backing.size - guest))
# --8<-- [end:lookup]


def describe(m: Mapping) -> str:
    if m.kind == "data":
        return say("data-copied" if m.copied else "data-shared", host=m.host)
    if m.kind == "compressed":
        return say("compressed-entry", host=m.host)
    if m.kind == "zero":
        return say("zero-flag") if m.host is None else say("zero-flag-kept", host=m.host)
    return say("unallocated") if m.host is None else say("unallocated-reserved", host=m.host)


def read_at(image, offset: int, length: int) -> bytes:
    image.file.seek(offset)
    return image.file.read(min(length, max(0, image.file_size - offset)))


def decompress(image: Image, m: Mapping) -> bytes | None:
    if image.compression_type != 0:
        return None
    start = m.host
    end = min((m.host & ~511) + m.sectors * 512, image.file_size)
    try:   # QEMU stores raw deflate data, without a zlib header
        return zlib.decompressobj(-15).decompress(read_at(image, start, end - start), image.cluster_size)
    except zlib.error as error:
        raise Qcow2Error(say("bad-compressed", offset=m.host, error=error)) from None


def dump(data: bytes) -> str:
    return " ".join(f"{b:02x}" for b in data) or say("no-bytes")


def check(image: Image, stored: dict[int, int]) -> dict:
    """Count the references to every host cluster, as qemu-img check does, and compare.

    uses maps each referenced cluster to (use, snapshot name or None, guest offset or None);
    use names a use-* message.
    """
    cs = image.cluster_size
    refs: dict[int, int] = {}
    uses: dict[int, tuple[str, str | None, int | None]] = {}

    def ref(offset: int, length: int, use: str, snapshot: str | None = None, guest: int | None = None) -> None:
        for cluster in range(offset // cs, (offset + max(length, 1) - 1) // cs + 1):
            refs[cluster] = refs.get(cluster, 0) + 1
            uses.setdefault(cluster, (use, snapshot, guest))

    stats = {"allocated-clusters": 0, "fragmented-clusters": 0, "compressed-clusters": 0}

    def walk(l1: list[int], l1_offset: int, snapshot: str | None) -> None:
        active = snapshot is None
        ref(l1_offset, 8 * len(l1), "use-l1", snapshot)
        for l1_index, l2_offset, entries in image.used_entries(l1):
            ref(l2_offset, cs, "use-l2", snapshot)
            contiguous = None
            for i, entry, bitmap in entries:
                guest = (l1_index * image.l2_entries + i) * cs
                m = image.decode(entry, bitmap, 0, image.where(l2_offset, i))
                if m.kind == "compressed":
                    ref(m.host & ~511, m.sectors * 512, "use-compressed", snapshot)
                    if active:
                        stats["allocated-clusters"] += 1
                        stats["compressed-clusters"] += 1
                        stats["fragmented-clusters"] += 1
                elif entry & 0x00FFFFFFFFFFFE00:
                    host = entry & 0x00FFFFFFFFFFFE00
                    ref(host, cs, "use-data", snapshot, guest)
                    if active:
                        stats["allocated-clusters"] += 1
                        if contiguous is not None and host != contiguous:
                            stats["fragmented-clusters"] += 1
                        contiguous = host + cs

    ref(0, cs, "use-header")
    ref(image.refcount_table_offset, image.refcount_table_clusters * cs, "use-refcount-table")
    table = struct.unpack(f">{image.refcount_table_clusters * cs // 8}Q",
                          image.read(image.refcount_table_offset, image.refcount_table_clusters * cs,
                                     say("what-refcount-table")))
    for entry in table:
        if entry & ~0x1FF:
            ref(entry & ~0x1FF, cs, "use-refcount-block")
    walk(image.l1, image.l1_table_offset, None)
    if image.nb_snapshots:
        ref(image.snapshots_offset, image.snapshots_end - image.snapshots_offset, "use-snapshot-table")
    for snap in image.snapshots:
        raw = image.read(snap.l1_table_offset, 8 * snap.l1_size, say("what-snapshot-l1", name=snap.name))
        walk(list(struct.unpack(f">{snap.l1_size}Q", raw)), snap.l1_table_offset, snap.name)
    if image.crypto_header:
        ref(image.crypto_header[0], image.crypto_header[1], "use-encryption")
    if image.bitmaps:
        nb_bitmaps, size, offset = image.bitmaps
        ref(offset, size, "use-bitmap-directory")
        directory = image.read(offset, size, say("what-bitmap-directory"))
        pos = 0
        for _ in range(nb_bitmaps):
            table_offset, table_size = struct.unpack(">QI", directory[pos:pos + 12])
            name_size, extra = struct.unpack(">HI", directory[pos + 18:pos + 24])
            ref(table_offset, 8 * table_size, "use-bitmap-table")
            for e in struct.unpack(f">{table_size}Q",
                                   image.read(table_offset, 8 * table_size, say("what-bitmap-table"))):
                if e & 0x00FFFFFFFFFFFE00:
                    ref(e & 0x00FFFFFFFFFFFE00, cs, "use-bitmap-data")
            pos += (24 + extra + name_size + 7) // 8 * 8
    clusters = set(refs) | set(stored)
    leaks = sorted(c for c in clusters if stored.get(c, 0) > refs.get(c, 0))
    errors = sorted(c for c in clusters if stored.get(c, 0) < refs.get(c, 0))
    end = (max(clusters) + 1) * cs if clusters else 0
    return {**stats, "leaks": leaks, "errors": errors, "image-end-offset": end,
            "uses": uses, "refs": refs}


def feature_list(mask: int, names: dict, kind: int, image: Image) -> str:
    if not mask:
        return say("none")
    return say("separator").join(
        say("feature", name=names.get(b) or image.feature_names.get((kind, b)) or say("unknown"), bit=b)
        for b in bits(mask))


def header_rows(image: Image) -> list[tuple[str, str]]:
    cs = image.cluster_size
    if image.backing_file:
        backing = say("backing-file", name=image.backing_file,
                      format=image.backing_format or say("not-recorded"))
    else:
        backing = say("none")
    rows = [
        ("label-virtual-size", say("virtual-size", size=image.size, human=human(image.size))),
        ("label-cluster-size", say("cluster-size", size=cs, human=human(cs), bits=image.cluster_bits)),
        ("label-l2-entries", say("l2-entries", n=image.l2_entries, size=image.l2_entry_size,
                                 span=human(image.l2_entries * cs))),
        ("label-l1-table", say("l1-table", entries=count(image.l1_size, "one-entry", "n-entries"),
                               offset=image.l1_table_offset)),
        ("label-refcount-table", say("refcount-table", offset=image.refcount_table_offset,
                                     clusters=count(image.refcount_table_clusters, "one-cluster", "n-clusters"),
                                     bits=image.refcount_bits)),
        ("label-backing-file", backing),
        ("label-snapshots", str(image.nb_snapshots)),
        ("label-incompatible", feature_list(image.incompatible, INCOMPATIBLE, 0, image)),
        ("label-compatible", feature_list(image.compatible, COMPATIBLE, 1, image)),
        ("label-autoclear", feature_list(image.autoclear, AUTOCLEAR, 2, image)),
        ("label-compression", ["zlib (deflate)", "zstd"][image.compression_type]
         if image.compression_type < 2 else say("unknown-compression", type=image.compression_type)),
        ("label-encryption", [say("none"), "AES", "LUKS"][image.crypt_method]
         if image.crypt_method < 3 else say("unknown-encryption", method=image.crypt_method)),
        ("label-extensions", say("separator").join(EXTENSIONS.get(t) or say("unknown-extension", type=t)
                                                   for t, _ in image.extensions) or say("none")),
    ]
    if image.extended_l2:
        rows.insert(3, ("label-subclusters", say("subclusters", size=human(image.subcluster_size))))
    return rows


def report(image: Image, show: set[str], list_all: bool) -> list[str]:
    out: list[str] = []
    cs = image.cluster_size
    digits = max(len(f"{image.size:x}"), 6)

    def span_of(start: int, length: int) -> str:
        return f"0x{start:0{digits}x}-0x{start + length - 1:0{digits}x} {pad(human(length), 11, right=True)}"
    if "header" in show:
        if image.file_size >= 1024:
            out.append(say("title", path=image.path, version=image.version, size=image.file_size,
                           human=human(image.file_size)))
        else:
            out.append(say("title-small", path=image.path, version=image.version, size=image.file_size))
        rows = header_rows(image)
        columns = max(width(say(label)) for label, _ in rows) + 2
        out += [pad(say(label), columns) + value for label, value in rows]
        out += [say("note", note=note) for note in image.notes]
        if image.backing_problem:
            out.append(say("note", note=say("cannot-open-backing", problem=image.backing_problem)))
        out.append("")
    if "snapshots" in show and image.snapshots:
        out.append(say("snapshots-title", n=image.nb_snapshots))
        for s in image.snapshots:
            out.append(say("snapshot-row", id=s.id, name=s.name, offset=s.l1_table_offset,
                           entries=count(s.l1_size, "one-entry", "n-entries"), vm_state=s.vm_state_size))
        out.append("")
    if "l1" in show:
        used = [(i, e) for i, e in enumerate(image.l1) if e]
        out.append(say("l1-title", offset=image.l1_table_offset, used=len(used), size=image.l1_size))
        span = image.l2_entries * cs
        for i, e in used:
            out.append(say("l1-row-copied" if e >> 63 else "l1-row-shared", index=i, entry=e,
                           table=e & 0x00FFFFFFFFFFFE00, start=i * span,
                           end=min((i + 1) * span, image.size) - 1))
        out.append("")
    if "l2" in show:
        for l1_index, offset, entries in image.used_entries():
            out.append(say("l2-title", offset=offset, index=l1_index, used=len(entries), size=image.l2_entries))
            for i, entry, bitmap in entries[: None if list_all else LIST_LIMIT]:
                guest = f"{(l1_index * image.l2_entries + i) * cs:0{digits}x}"
                if image.extended_l2:
                    out.append(say("l2-row-extended", index=i, guest=guest, entry=entry, bitmap=bitmap,
                                   what=describe_subclusters(image, entry, bitmap, image.where(offset, i))))
                else:
                    out.append(say("l2-row", index=i, guest=guest, entry=entry,
                                   what=describe(image.decode(entry, 0, 0, image.where(offset, i)))))
            if not list_all and len(entries) > LIST_LIMIT:
                out.append(say("more", n=len(entries) - LIST_LIMIT))
            out.append("")
    if "map" in show:
        out.append(say("map-title"))
        for start, length, what, host in this_file_map(image):
            out.append(f"{span_of(start, length)}  {say(what, host=host, backing=image.backing_file)}")
        out.append("")
    if "chain" in show and image.backing_file:
        out.append(say("chain-title"))
        if image.backing is None:
            out.append(say("cannot-open-backing", problem=image.backing_problem))
        else:
            names = chain_names(image)
            for r in chain_map(image):
                if not r["present"]:
                    source = say("chain-absent", depth=r["depth"])
                elif r["zero"]:
                    source = say("chain-zero", depth=r["depth"], name=names[r["depth"]])
                elif "offset" in r:
                    source = say("chain-data", depth=r["depth"], name=names[r["depth"]], host=r["offset"])
                else:
                    source = say("chain-data-here", depth=r["depth"], name=names[r["depth"]])
                out.append(f"{span_of(r['start'], r['length'])}  {source}")
        out.append("")
    stored = image.refcounts() if {"refcounts", "check"} & show else {}
    result = check(image, stored) if {"refcounts", "check"} & show else {}
    if "refcounts" in show:
        out += refcount_rows(image, stored, result, list_all)
    if "check" in show:
        out.append(say("check-title"))
        out.append(say("check-counts", allocated=result["allocated-clusters"],
                       fragmented=result["fragmented-clusters"], compressed=result["compressed-clusters"]))
        out.append(say("check-end", offset=result["image-end-offset"]))
        if not result["leaks"] and not result["errors"]:
            out.append(say("check-ok"))
        for key in ("leaks", "errors"):
            for c in result[key][:LIST_LIMIT]:
                out.append(say("check-leak" if key == "leaks" else "check-error", offset=c * cs,
                               refcount=stored.get(c, 0), refs=result["refs"].get(c, 0)))
        out.append("")
    return out


def refcount_rows(image: Image, stored: dict[int, int], result: dict, list_all: bool) -> list[str]:
    """Runs of host clusters with the same use and refcount, and how many clusters have each count."""
    cs = image.cluster_size
    nb = -(-image.file_size // cs)
    out = [say("clusters-title", n=nb, size=human(cs))]
    rows = []                       # [first cluster, last cluster, (use, snapshot), guest, refcount]
    for c in range(nb):
        use, snapshot, guest = result["uses"].get(c, ("use-unused", None, None))
        rc = stored.get(c, 0)
        last = rows[-1] if rows else None
        if last and last[1] == c - 1 and last[2] == (use, snapshot) and last[4] == rc and \
                (guest is None) == (last[3] is None) and \
                (guest is None or guest == last[3] + (c - last[0]) * cs):
            last[1] = c
        else:
            rows.append([c, c, (use, snapshot), guest, rc])
    for first, last_c, (use, snapshot), guest, rc in rows[: None if list_all else LIST_LIMIT]:
        span = f"0x{first * cs:x}" if first == last_c else f"0x{first * cs:x}-0x{(last_c + 1) * cs - 1:x}"
        text = say(use) if snapshot is None else say("of-snapshot", use=say(use), name=snapshot)
        if guest is not None and last_c > first:
            text = say("use-guest-range", use=text, start=guest, end=guest + (last_c - first + 1) * cs - 1)
        elif guest is not None:
            text = say("use-guest", use=text, start=guest)
        out.append(say("refcount-row", span=f"{span:<16}", refcount=rc, use=text))
    if not list_all and len(rows) > LIST_LIMIT:
        out.append(say("more-rows", n=len(rows) - LIST_LIMIT))
    histogram = {}
    for c in range(nb):
        histogram[stored.get(c, 0)] = histogram.get(stored.get(c, 0), 0) + 1
    items = [say("histogram-item", clusters=count(n, "one-cluster", "n-clusters"), refcount=rc)
             for rc, n in sorted(histogram.items())]
    out.append(say("histogram", items=say("separator").join(items)))
    out.append("")
    return out


def describe_subclusters(image: Image, entry: int, bitmap: int, where: str) -> str:
    kinds = [image.decode(entry, bitmap, s, where).kind for s in range(32)]
    if kinds[0] == "compressed":
        return describe(image.decode(entry, bitmap, 0, where))
    letters = "".join({"data": "D", "zero": "0", "unallocated": "."}[k] for k in kinds)
    host = entry & 0x00FFFFFFFFFFFE00
    return say("subcluster-row", cluster=f"0x{host:x}" if host else say("none"), letters=letters)


def chain_names(image) -> list[str]:
    names = []
    while image is not None:
        names.append(image.path)
        image = getattr(image, "backing", None)
    return names


# --8<-- [start:main]
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=say("description"))
    parser.add_argument("image", help=say("help-image"))
    parser.add_argument("--offset", type=parse_size, help=say("help-offset"))
    parser.add_argument("--show", default=SHOW_DEFAULT, help=say("help-show", default=SHOW_DEFAULT))
    parser.add_argument("--map-json", action="store_true", help=say("help-map-json"))
    parser.add_argument("--all", action="store_true", help=say("help-all"))
    args = parser.parse_args(argv)
    show = {s.strip() for s in args.show.split(",") if s.strip()}
    unknown = show - set(SHOW_DEFAULT.split(","))
    if unknown:
        parser.error(say("unknown-section", names=", ".join(sorted(unknown)), choices=SHOW_DEFAULT))
    image = None
    try:
        image = open_image(args.image)
        if args.map_json:
            print(json.dumps(chain_map(image)))
        elif args.offset is not None:
            if args.offset >= image.size:
                raise Qcow2Error(say("beyond-disk", offset=args.offset, size=image.size))
            out = [say("lookup-title", offset=args.offset)]
            lookup(image, args.offset, out)
            print("\n".join(out))
        else:
            print("\n".join(report(image, show, args.all)).rstrip("\n"))
    except BrokenPipeError:                     # e.g. piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(say("cannot-read", path=error.filename or args.image, reason=error.strerror), file=sys.stderr)
        return 2
    except (Qcow2Error, struct.error, RecursionError) as error:
        print(say("error", path=args.image, message=error), file=sys.stderr)
        return 1
    finally:
        while image is not None:
            image.file.close()
            image = getattr(image, "backing", None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
# --8<-- [end:main]
