"""The qcow2 lab (docs/labs/qcow2_inspect.py), checked against QEMU's own tools.

- Real images are made with Debian's qemu-utils (qemu-img, qemu-io): a base, an overlay on
  a backing file, writes and zero writes through qemu-io, an internal snapshot, cluster
  sizes 512 bytes / 4 KiB / 64 KiB / 2 MiB, compressed clusters, extended L2 entries
  (subclusters), a version 2 image, a three-level chain whose files have different sizes,
  and a raw backing file with a hole.
- For every image the inspector's chain map equals `qemu-img map --output=json` record by
  record, its view of the file alone agrees with that map, its recount of the refcounts
  agrees with `qemu-img check --output=json`, and the bytes its step-by-step lookup finds
  are the bytes `qemu-io -c 'read -v'` reads.
- The lab page's session (docs/labs/qcow2_session.txt, in Japanese, and
  qcow2_session.en.txt, in English: the commands and their output, which the pages include)
  is run command by command and must print exactly what the file says on the QEMU version it
  was recorded with (7.2); elsewhere every command must still succeed. Regenerate both with
  `.venv/bin/python -m tests.test_lab_qcow2`.
- The program speaks the reader's language (CONTRIBUTING.md#lab-languages): the reports,
  the lookup and every error are checked in Japanese and in English, and the English output
  has no Japanese in it.
- Every error path (not qcow2, empty, truncated at each structure, unsupported version,
  unknown or unsupported incompatible feature, L1/L2 entries outside the file, misaligned
  entries, a backing chain that loops, an offset beyond the disk) ends with one line and
  exit status 1 (2 for a file that cannot be read), never a traceback; so do randomly
  corrupted images.

qemu-img and qemu-io are required: without them these tests skip locally and fail in CI
(CI=true); .ci/run installs qemu-utils.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.lab_language import LANGUAGES, assert_english, environment, language  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "docs" / "labs"
LAB = LABS / "qcow2_inspect.py"
SESSIONS = {"ja": LABS / "qcow2_session.txt", "en": LABS / "qcow2_session.en.txt"}
RECORDED_WITH = (7, 2)          # the QEMU version the session file was recorded with
IN_CI = os.environ.get("CI") == "true"

sys.path.insert(0, str(LABS))
import qcow2_inspect as qi  # noqa: E402  (the lab lives in docs/labs, as the reader downloads it)

MARKER = re.compile(r"^-+8<-+ \[(start|end):[a-z0-9-]+\]$")


def need_tools() -> tuple[int, int]:
    missing = [tool for tool in ("qemu-img", "qemu-io") if not shutil.which(tool)]
    if missing:
        message = f"{' and '.join(missing)} not found: install Debian's qemu-utils"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    out = subprocess.run(["qemu-img", "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = re.search(r"version (\d+)\.(\d+)", out).groups()
    return int(major), int(minor)


def sh(command: str, cwd: Path, check: bool = True, language: str = "en") -> str:
    result = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                            timeout=120, env=session_env(cwd, language))
    if check and result.returncode:
        raise AssertionError(f"{command}: exit {result.returncode}\n{result.stdout}{result.stderr}")
    return result.stdout + result.stderr


def session_env(cwd: Path, language: str) -> dict:
    """`python3` in the commands is the interpreter running the tests; LANG picks the language."""
    shim = cwd / ".bin"
    shim.mkdir(exist_ok=True)
    if not (shim / "python3").exists():
        (shim / "python3").symlink_to(sys.executable)
    env = environment(language)
    return {**env, "PATH": f"{shim}:{env['PATH']}"}


def inspect(*args: str, cwd: Path, language: str = "en") -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(LAB), *args], cwd=cwd, capture_output=True,
                            text=True, timeout=120, env=environment(language))
    if language == "en":
        assert_english(result.stdout + result.stderr)
    return result


# Every image: (name, commands that make it). Commands run in one directory, in this order.
IMAGES = {
    "base": "qemu-img create -q -f qcow2 base.qcow2 4M && "
            "qemu-io -c 'write -q -P 0xaa 0 128k' -c 'write -q -P 0xbb 1M 64k' base.qcow2",
    "overlay": "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2 && "
               "qemu-io -c 'write -q -P 0xcc 64k 4k' -c 'write -q -z 1M 64k' -c 'write -q -z 2M 64k' overlay.qcow2",
    "empty-overlay": "qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 empty-overlay.qcow2",
    "snapshot": "qemu-img create -q -f qcow2 snapshot.qcow2 1M && "
                "qemu-io -c 'write -q -P 1 0 128k' snapshot.qcow2 && "
                "qemu-img snapshot -c snap1 snapshot.qcow2 && "
                "qemu-io -c 'write -q -P 2 0 4k' -c 'write -q -z 64k 64k' snapshot.qcow2",
    "zeros": "qemu-img create -q -f qcow2 zeros.qcow2 1M && "
             "qemu-io -c 'write -q -P 1 0 192k' -c 'write -q -z 0 64k' -c 'write -q -z -u 64k 64k' zeros.qcow2",
    "cluster-512": "qemu-img create -q -f qcow2 -o cluster_size=512 cluster-512.qcow2 1M && "
                   "qemu-io -c 'write -q -P 1 1000 3000' -c 'write -q -P 2 300k 1k' cluster-512.qcow2",
    "cluster-4k-overlay": "qemu-img create -q -f qcow2 -o cluster_size=4k -b base.qcow2 -F qcow2 "
                          "cluster-4k-overlay.qcow2 && qemu-io -c 'write -q -P 0xcc 66k 4k' cluster-4k-overlay.qcow2",
    "cluster-2m": "qemu-img create -q -f qcow2 -o cluster_size=2M cluster-2m.qcow2 8M && "
                  "qemu-io -c 'write -q -P 1 3M 4k' cluster-2m.qcow2",
    "compressed": "qemu-img create -q -f qcow2 plain.qcow2 1M && "
                  "qemu-io -c 'write -q -P 0xaa 0 64k' -c 'write -q -P 0x11 64k 64k' -c 'write -q -P 3 512k 4k' plain.qcow2 && "
                  "qemu-img convert -c -O qcow2 plain.qcow2 compressed.qcow2 && "
                  "qemu-io -c 'write -q -P 7 64k 4k' compressed.qcow2",
    "extended-l2": "qemu-img create -q -f qcow2 -o extended_l2=on extended-l2.qcow2 1M && "
                   "qemu-io -c 'write -q -P 1 4k 2k' -c 'write -q -z 16k 2k' extended-l2.qcow2",
    "extended-l2-overlay": "qemu-img create -q -f qcow2 -o extended_l2=on sub-base.qcow2 1M && "
                           "qemu-io -c 'write -q -P 2 0 1M' sub-base.qcow2 && "
                           "qemu-img create -q -f qcow2 -o extended_l2=on -b sub-base.qcow2 -F qcow2 extended-l2-overlay.qcow2 && "
                           "qemu-io -c 'write -q -P 1 4k 2k' -c 'write -q -z 16k 2k' -c 'write -q -z 128k 64k' extended-l2-overlay.qcow2",
    "version-2": "qemu-img create -q -f qcow2 -o compat=0.10 version-2.qcow2 1M && "
                 "qemu-io -c 'write -q -P 1 0 64k' -c 'write -q -z 64k 64k' version-2.qcow2",
    "chain": "qemu-img create -q -f qcow2 chain1.qcow2 1M && "
             "qemu-io -c 'write -q -P 0xaa 0 64k' -c 'write -q -z 128k 64k' chain1.qcow2 && "
             "qemu-img create -q -f qcow2 -b chain1.qcow2 -F qcow2 chain2.qcow2 2M && "
             "qemu-img create -q -f qcow2 -b chain2.qcow2 -F qcow2 chain.qcow2 3M && "
             "qemu-io -c 'write -q -P 1 1536k 64k' chain2.qcow2 && qemu-io -c 'write -q -P 2 2560k 4k' chain.qcow2",
    "raw-backing": "truncate -s 1M backing.raw && printf 'hello' | dd of=backing.raw bs=1 seek=200000 conv=notrunc status=none && "
                   "qemu-img create -q -f qcow2 -b backing.raw -F raw raw-backing.qcow2 2M && "
                   "qemu-io -c 'write -q -P 9 0 4k' raw-backing.qcow2",
}


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> Path:
    need_tools()
    directory = tmp_path_factory.mktemp("qcow2")
    for command in IMAGES.values():
        sh(command, directory)
    return directory


def qemu_map(path: Path) -> list[dict]:
    return json.loads(sh(f"qemu-img map --output=json {path.name}", path.parent))


def qemu_check(path: Path) -> dict:
    result = subprocess.run(["qemu-img", "check", "--output=json", path.name], cwd=path.parent,
                            capture_output=True, text=True)
    return json.loads(result.stdout)


@contextlib.contextmanager
def opened(path: Path):
    image = qi.open_image(str(path))
    try:
        yield image
    finally:
        while image is not None:
            image.file.close()
            image = getattr(image, "backing", None)


@pytest.mark.parametrize("name", IMAGES)
def test_chain_map_is_qemu_img_map(images, name):
    """Record by record: start, length, depth, present, zero, data, offset (and compressed,
    where this qemu-img prints it)."""
    path = images / f"{name}.qcow2"
    theirs = qemu_map(path)
    result = inspect(path.name, "--map-json", cwd=images)
    assert result.returncode == 0, result.stderr
    ours = json.loads(result.stdout)
    keys = set().union(*theirs) | {"offset"}
    assert [{k: v for k, v in r.items() if k in keys} for r in ours] == theirs
    with opened(path) as image:
        assert sum(r["length"] for r in ours) == image.size


@pytest.mark.parametrize("name", IMAGES)
def test_this_file_view_agrees_with_qemu_img_map(images, name):
    """Allocated here = depth 0 and present; falls through = found deeper; zeros otherwise."""
    path = images / f"{name}.qcow2"
    with opened(path) as image:
        rows = qi.this_file_map(image)
    assert rows[0][0] == 0 and sum(length for _, length, _, _ in rows) == image.size
    for record in qemu_map(path):
        for point in {record["start"], record["start"] + record["length"] - 1}:
            start, length, what, host = next(r for r in rows if r[0] <= point < r[0] + r[1])
            if record["depth"] == 0 and record["present"]:
                assert what in ("map-data", "map-data-no-offset", "map-compressed", "map-zero-flag", "map-zero-flag-kept"), (point, what)
                if "offset" in record:
                    assert host + (point - start) == record["offset"] + (point - record["start"])
            elif record["depth"] > 0:
                assert what == "map-backing", (point, what)
            else:
                assert what in ("map-no-backing", "map-beyond-backing"), (point, what)


@pytest.mark.parametrize("name", IMAGES)
def test_recounted_refcounts_agree_with_qemu_img_check(images, name):
    path = images / f"{name}.qcow2"
    theirs = qemu_check(path)
    with opened(path) as image:
        result = qi.check(image, image.refcounts())
    assert result["leaks"] == [] and result["errors"] == []
    assert theirs.get("leaks", 0) == 0 and theirs.get("corruptions", 0) == 0
    for key in ("allocated-clusters", "fragmented-clusters", "compressed-clusters"):
        assert result[key] == theirs.get(key, 0), key
    assert result["image-end-offset"] == theirs["image-end-offset"]


BYTES_THERE = {"ja": "そこにあるバイト", "en": "bytes there"}


def lookup_bytes(path: Path, offset: int, language: str = "en") -> tuple[list[str], bytes]:
    result = inspect(path.name, "--offset", hex(offset), cwd=path.parent, language=language)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    last = [line for line in lines if BYTES_THERE[language] in line][-1]
    return lines, bytes.fromhex(last.split(":", 1)[1].strip())


def qemu_read(path: Path, offset: int, length: int) -> bytes:
    """The bytes of `qemu-io -c 'read -v'`: lines of 'address:  xx xx ...  ascii'."""
    out = sh(f"qemu-io -r -c 'read -v {offset} {length}' {path.name}", path.parent)
    data = b""
    for line in re.findall(r"^[0-9a-f]{8}:.*$", out, re.M):
        tokens = line.split(":", 1)[1].split()
        data += bytes.fromhex("".join(tokens[:min(16, length - len(data))]))
    return data


@pytest.mark.parametrize("name", IMAGES)
def test_lookup_finds_the_bytes_qemu_io_reads(images, name):
    """The step-by-step lookup ends at the same bytes a real read through QEMU returns, at the
    start and the middle of every range of the map (a few per image)."""
    path = images / f"{name}.qcow2"
    records = qemu_map(path)
    points = sorted({p for r in records for p in (r["start"], r["start"] + r["length"] // 2 // 512 * 512)})
    for point in points[:8]:
        lines, ours = lookup_bytes(path, point)
        assert lines[0] == f"== Lookup of guest offset 0x{point:x} =="
        assert ours == qemu_read(path, point, len(ours)), (point, lines)
        assert len(ours) > 0


LOOKUP_STEPS = {   # --offset 0x11000 in overlay.qcow2
    "en": [
        "== Lookup of guest offset 0x11000 ==",
        "overlay.qcow2: cluster size 65536, 8192 entries per L2 table",
        "guest cluster    = 0x11000 // 65536 = 1, offset in cluster 0x1000",
        "l1_index         = 1 // 8192 = 0",
        "l2_index         = 1 % 8192 = 1",
        "L1[0] at 0x30000 = 0x8000000000040000: L2 table at 0x40000, COPIED (refcount 1)",
        "L2[1] at 0x40008 = 0x8000000000050000: data at host 0x50000, COPIED (refcount 1)",
        "host offset      = 0x50000 + 0x1000 = 0x51000 in overlay.qcow2",
        "bytes there: aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa",
    ],
    "ja": [
        "== ゲストオフセット0x11000をたどる ==",
        "overlay.qcow2: クラスターの大きさ65536、L2テーブル1つに8192エントリ",
        "ゲストのクラスター = 0x11000 // 65536 = 1、クラスターの中の位置0x1000",
        "l1_index           = 1 // 8192 = 0",
        "l2_index           = 1 % 8192 = 1",
        "0x30000のL1[0] = 0x8000000000040000: L2テーブルは0x40000、COPIED（参照カウント1）",
        "0x40008のL2[1] = 0x8000000000050000: データ（ホストの0x50000）、COPIED（参照カウント1）",
        "ホストのオフセット = 0x50000 + 0x1000 = 0x51000（overlay.qcow2の中）",
        "そこにあるバイト: aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa aa",
    ],
}   # 0xaa: the rest of the cluster was copied from the base when 4 KiB at 64k were written
FALLS_THROUGH = {   # --offset 0 in overlay.qcow2
    "en": ["not allocated here: the read goes to the backing file base.qcow2",
           "  host offset      = 0x50000 + 0x0 = 0x50000 in base.qcow2"],
    "ja": ["ここでは未割り当て: 読み出しはバッキングファイルbase.qcow2へ行く",
           "  ホストのオフセット = 0x50000 + 0x0 = 0x50000（base.qcow2の中）"],
}
ZERO_FLAG = {"en": "zero flag: the range reads as zeros, without reading any file, not even the backing file",
             "ja": "ゼロフラグ: この範囲はゼロとして読める。どのファイルも読まない（バッキングファイルも）"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_lookup_shows_each_step_of_the_specification(images, lang):
    lines, data = lookup_bytes(images / "overlay.qcow2", 0x11000, lang)
    assert lines == LOOKUP_STEPS[lang]
    lines, data = lookup_bytes(images / "overlay.qcow2", 0, lang)
    assert all(line in lines for line in FALLS_THROUGH[lang]), lines
    lines, data = lookup_bytes(images / "overlay.qcow2", 0x100000, lang)
    assert ZERO_FLAG[lang] in lines and data == bytes(16)  # hides the base's 0xbb


def test_snapshot_shares_clusters_until_a_write_copies_them(images):
    with opened(images / "snapshot.qcow2") as image:
        stored = image.refcounts()
        assert len(image.snapshots) == 1 and image.snapshots[0].name == "snap1"
        result = qi.check(image, stored)
        shared = [c for c, n in stored.items() if n == 2]
        assert shared, "the snapshot and the active table share a cluster"
        assert image.mapping(0).kind == "data" and image.mapping(0).copied   # rewritten: a new cluster
        assert image.mapping(0x10000).kind == "zero" and not image.mapping(0x10000).copied
        assert result["uses"][shared[0]][0] == "use-data"


REPORT = {
    "en": ["== overlay.qcow2: qcow2 version 3", "== L1 table at 0x30000", "== L2 table at 0x40000",
           "== Guest map: this file alone ==", "== Guest map through the backing chain",
           "== Host clusters:", "== Check: refcounts recounted",
           "backing file    base.qcow2 (format qcow2)",
           "every refcount matches the number of references: no leaks, no errors"],
    "ja": ["== overlay.qcow2: qcow2の版3", "== L1テーブル（0x30000）", "== L2テーブル（0x40000",
           "== ゲストから見たマップ: このファイルだけ ==", "== バッキングファイルの鎖をたどったマップ",
           "== ホストのクラスター:", "== 検査: 表から数え直した参照カウント",
           "バッキングファイル    base.qcow2（形式qcow2）",
           "すべての参照カウントが参照の数と一致: リークなし、エラーなし"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_default_report_has_every_section(images, lang):
    result = inspect("overlay.qcow2", cwd=images, language=lang)
    assert result.returncode == 0 and result.stderr == ""
    for text in REPORT[lang]:
        assert text in result.stdout


def test_compressed_and_extended_l2_entries_are_reported(images):
    out = inspect("compressed.qcow2", "--show", "header,l2,map", cwd=images).stdout
    assert "compressed cluster (bit 62)" in out and "compressed data in this file" in out
    lines, data = lookup_bytes(images / "compressed.qcow2", 0)
    assert any("zlib (deflate)" in line for line in lines) and data == b"\xaa" * 16
    out = inspect("extended-l2.qcow2", "--show", "header,l2", cwd=images).stdout
    assert "incompatible    extended L2 entries (bit 4)" in out
    assert "subclusters     32 per cluster, 2 KiB each" in out
    assert "subclusters ..D.....0......................." in out   # 4k: data, 16k: zero
    out = inspect("compressed.qcow2", "--show", "l2,map", cwd=images, language="ja").stdout
    assert "圧縮されたクラスター（ビット62）" in out and "このファイルの圧縮データ" in out
    out = inspect("extended-l2.qcow2", "--show", "header,l2", cwd=images, language="ja").stdout
    assert "非互換の機能          extended L2 entries（ビット4）" in out
    assert "サブクラスター        1クラスターに32個、1個2 KiB" in out
    assert "サブクラスター ..D.....0......................." in out


def test_reading_never_changes_the_image(images):
    path = images / "snapshot.qcow2"
    before = hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns
    for args in ((), ("--map-json",), ("--offset", "0"), ("--all",)):
        assert inspect(path.name, *args, cwd=images).returncode == 0
    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before


# --- The page's session -------------------------------------------------------------------

def run_session(directory: Path, text: str, language: str) -> str:
    """Run every `$ command` line of the session text in `directory`; return the text with
    each command followed by the output it printed now."""
    shutil.copy(LAB, directory / LAB.name)
    out = []
    for line in text.splitlines():
        if MARKER.match(line):
            out.append(line)
        elif line.startswith("$ "):
            out.append(line)
            printed = sh(line[2:], directory, language=language)
            out.extend(printed.rstrip("\n").split("\n") if printed.strip() else [])
    return "\n".join(out) + "\n"


def commands_of(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("$ ") or MARKER.match(line)]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_session_on_the_page_is_what_the_commands_print(tmp_path, lang):
    version = need_tools()
    text = SESSIONS[lang].read_text(encoding="utf-8")
    assert text.count("$ ") >= 20
    assert commands_of(text) == commands_of(SESSIONS["ja"].read_text(encoding="utf-8"))
    now = run_session(tmp_path, text, lang)
    if version[:2] == RECORDED_WITH:
        assert now == text
    assert "Traceback" not in now
    if lang == "en":
        assert_english(now)


def regenerate() -> None:
    import tempfile
    need_tools()
    commands = "\n".join(commands_of(SESSIONS["ja"].read_text(encoding="utf-8")))
    for lang, path in SESSIONS.items():
        with tempfile.TemporaryDirectory() as tmp:
            path.write_text(run_session(Path(tmp), commands, lang), encoding="utf-8")
        print(f"wrote {path}")


def test_page_includes_every_section_it_names():
    """The lab page (published or still a draft) includes sections that exist, every section
    of the session, and links to the program."""
    page = next(p for p in (ROOT / "docs" / "labs" / "qcow2.md", ROOT / "docs" / "drafts" / "labs" / "qcow2.md")
                if p.exists())
    text = page.read_text(encoding="utf-8")
    assert "[qcow2_inspect.py](qcow2_inspect.py)" in text
    for file, path in (("qcow2_inspect.py", LAB), ("qcow2_session.txt", SESSIONS["ja"])):
        named = re.findall(rf'--8<-- "{re.escape(file)}:([a-z0-9-]+)"', text)
        markers = re.findall(r"--8<-- \[start:([a-z0-9-]+)\]", path.read_text(encoding="utf-8"))
        assert named and set(named) <= set(markers), (file, set(named) - set(markers))
        if file == "qcow2_session.txt":
            assert set(named) == set(markers), set(markers) - set(named)


# --- Errors -------------------------------------------------------------------------------

def patched(images: Path, source: str, name: str, edits: list[tuple[int, bytes]], cut: int | None = None) -> str:
    data = bytearray((images / source).read_bytes())
    for offset, value in edits:
        data[offset:offset + len(value)] = value
    if cut is not None:
        data = data[:cut]
    (images / name).write_bytes(bytes(data))
    return name


def be64(value: int) -> bytes:
    return struct.pack(">Q", value)


def be32(value: int) -> bytes:
    return struct.pack(">I", value)


ERRORS = {
    # name: (how to make the file, the expected message)
    "raw-image": (lambda d: made(d, "qemu-img create -q -f raw raw.img 1M && printf 'hello' | "
                                    "dd of=raw.img conv=notrunc status=none", "raw.img"),
                  "not a qcow2 image: it starts with 68 65 6c 6c, not the magic 'QFI\\xfb' (51 46 49 fb)"),
    "raw-zeros": (lambda d: made(d, "qemu-img create -q -f raw disk.raw 1M", "disk.raw"),
                  "not a qcow2 image: it starts with 00 00 00 00, not the magic 'QFI\\xfb' (51 46 49 fb); "
                  "a raw image has no header at all"),
    "empty": (lambda d: (d / "empty.qcow2").write_bytes(b"") or "empty.qcow2",
              "not a qcow2 image: it starts with nothing (an empty file)"),
    "cut-in-header": (lambda d: patched(d, "base.qcow2", "cut1.qcow2", [], 100),
                      "truncated: the version 3 header at 0x48 (32 bytes) goes past the end of the file (100 bytes)"),
    "cut-in-l1": (lambda d: patched(d, "base.qcow2", "cut2.qcow2", [], 0x30004),
                  "truncated: the L1 table at 0x30000 (8 bytes) goes past the end of the file (196612 bytes)"),
    "cut-in-l2": (lambda d: patched(d, "base.qcow2", "cut3.qcow2", [], 0x48000),
                  "truncated: the L2 table for L1[0] at 0x40000 (65536 bytes) goes past the end of the file"),
    "cut-before-l2": (lambda d: patched(d, "base.qcow2", "cut4.qcow2", [], 0x38000),
                      "truncated: L1[0] = 0x8000000000040000 points to an L2 table at 0x40000, outside the file "
                      "(229376 bytes); the refcounts say that cluster is in use, so the file has been cut short"),
    "cut-before-data": (lambda d: patched(d, "base.qcow2", "cut5.qcow2", [], 0x50000),
                        "truncated: L2[0] of the table at 0x40000 = 0x8000000000050000 points to a cluster at 0x50000, "
                        "outside the file (327680 bytes); the refcounts say that cluster is in use"),
    "version-1": (lambda d: patched(d, "base.qcow2", "v1.qcow2", [(4, be32(1))]),
                  "unsupported qcow2 version 1 (version 1 is the original QCOW format, not qcow2); "
                  "this inspector reads versions 2 and 3"),
    "version-4": (lambda d: patched(d, "base.qcow2", "v4.qcow2", [(4, be32(4))]),
                  "unsupported qcow2 version 4; this inspector reads versions 2 and 3"),
    "unknown-feature": (lambda d: patched(d, "base.qcow2", "feature.qcow2", [(72, be64(1 << 5))]),
                        "unsupported incompatible feature bit 5, not named in the image: the specification says "
                        "a reader must refuse an image with an incompatible feature it does not implement"),
    "named-feature": (lambda d: named_feature(d),
                      "unsupported incompatible feature 'teleportation' (bit 9)"),
    "external-data-file": (lambda d: made(d, "qemu-img create -q -f qcow2 -o data_file=data.raw external.qcow2 1M",
                                          "external.qcow2"),
                           "unsupported incompatible feature 'external data file' (bit 2)"),
    "l2-entry-outside": (lambda d: patched(d, "base.qcow2", "l2out.qcow2", [(0x40000, be64(1 << 63 | 0x10000000))]),
                         "corrupt L2 table: L2[0] of the table at 0x40000 = 0x8000000010000000 points to a cluster at "
                         "0x10000000, outside the file (524288 bytes), and no refcount claims that cluster"),
    "l1-entry-outside": (lambda d: patched(d, "base.qcow2", "l1out.qcow2", [(0x30000, be64(1 << 63 | 0x7770000))]),
                         "corrupt L1 table: L1[0] = 0x8000000007770000 points to an L2 table at 0x7770000, outside the "
                         "file (524288 bytes), and no refcount claims that cluster"),
    "l2-entry-misaligned": (lambda d: patched(d, "base.qcow2", "l2mis.qcow2", [(0x40000, be64(1 << 63 | 0x50200))]),
                            "corrupt L2 table: L2[0] of the table at 0x40000 = 0x8000000000050200 points to 0x50200, "
                            "which is not aligned to a cluster"),
    "cluster-bits": (lambda d: patched(d, "base.qcow2", "bits.qcow2", [(20, be32(22))]),
                     "unsupported cluster_bits 22: the specification needs at least 9 (512 bytes) and QEMU opens "
                     "at most 21 (2 MiB)"),
    "chain-loop": (lambda d: looped(d), "cannot follow the backing chain: loop-a.qcow2: the backing chain loops back to loop-a.qcow2"),
}

ERRORS_JA = {   # the same cases for a Japanese reader (LANG=ja_JP.UTF-8)
    "raw-image": "qcow2のイメージではありません: 先頭が68 65 6c 6cで、マジックナンバー'QFI\\xfb'（51 46 49 fb）ではありません",
    "raw-zeros": "qcow2のイメージではありません: 先頭が00 00 00 00で、マジックナンバー'QFI\\xfb'（51 46 49 fb）"
                 "ではありません。rawのイメージにはヘッダーがありません",
    "empty": "qcow2のイメージではありません: 空のファイルです",
    "cut-in-header": "途中で切れています: 0x48からの版3のヘッダー（32バイト）がファイルの終わり（100バイト）を越えます",
    "cut-in-l1": "途中で切れています: 0x30000からのL1テーブル（8バイト）がファイルの終わり（196612バイト）を越えます",
    "cut-in-l2": "途中で切れています: 0x40000からのL1[0]のL2テーブル（65536バイト）がファイルの終わり",
    "cut-before-l2": "途中で切れています: L1[0] = 0x8000000000040000がL2テーブルとして0x40000を指しますが、"
                     "ファイル（229376バイト）の外です。参照カウントではそのクラスターは使用中なので、ファイルが途中で切れています",
    "cut-before-data": "途中で切れています: 0x40000の表のL2[0] = 0x8000000000050000がクラスターとして0x50000を指しますが、"
                       "ファイル（327680バイト）の外です。参照カウントではそのクラスターは使用中",
    "version-1": "対応していないqcow2の版1です（版1は元のQCOWの形式で、qcow2ではありません）。"
                 "このプログラムが読めるのは版2と版3です",
    "version-4": "対応していないqcow2の版4です。このプログラムが読めるのは版2と版3です",
    "unknown-feature": "対応していない非互換の機能ビット5（イメージに名前の記録なし）があります。仕様では、"
                       "実装していない非互換の機能を持つイメージを、読む側は拒まなければなりません",
    "named-feature": "対応していない非互換の機能「teleportation」（ビット9）があります",
    "external-data-file": "対応していない非互換の機能「external data file」（ビット2）があります",
    "l2-entry-outside": "L2テーブルが壊れています: 0x40000の表のL2[0] = 0x8000000010000000がクラスターとして0x10000000を"
                        "指しますが、ファイル（524288バイト）の外で、そのクラスターを使用中とする参照カウントもありません",
    "l1-entry-outside": "L1テーブルが壊れています: L1[0] = 0x8000000007770000がL2テーブルとして0x7770000を指しますが、"
                        "ファイル（524288バイト）の外で、そのクラスターを使用中とする参照カウントもありません",
    "l2-entry-misaligned": "L2テーブルが壊れています: 0x40000の表のL2[0] = 0x8000000000050200が指す0x50200は、"
                           "クラスターの境界にそろっていません",
    "cluster-bits": "対応していないcluster_bits 22です: 仕様は9（512バイト）以上を求め、QEMUが開くのは21（2 MiB）までです",
    "chain-loop": "バッキングファイルの鎖をたどれません: loop-a.qcow2: バッキングファイルの鎖がloop-a.qcow2に戻っています（ループ）",
}


def made(directory: Path, command: str, name: str) -> str:
    sh(command, directory)
    return name


def named_feature(directory: Path) -> str:
    """Rename the image's feature-table entry for incompatible bit 4 to bit 9, 'teleportation'."""
    data = bytearray((directory / "base.qcow2").read_bytes())
    entry = data.find(b"\x00\x04extended L2")
    assert entry > 0
    data[entry + 1] = 9
    data[entry + 2:entry + 48] = b"teleportation".ljust(46, b"\0")
    data[72:80] = be64(1 << 9)
    (directory / "named.qcow2").write_bytes(bytes(data))
    return "named.qcow2"


def looped(directory: Path) -> str:
    """loop-a has loop-b as its backing file and loop-b has loop-a (names of equal length)."""
    sh("qemu-img create -q -f qcow2 loop-b.qcow2 1M && "
       "qemu-img create -q -f qcow2 -b loop-b.qcow2 -F qcow2 loop-a.qcow2 && "
       "qemu-img create -q -f qcow2 -b loop-b.qcow2 -F qcow2 loop-x.qcow2", directory)
    data = (directory / "loop-x.qcow2").read_bytes().replace(b"loop-b.qcow2", b"loop-a.qcow2")
    (directory / "loop-b.qcow2").write_bytes(data)
    return "loop-a.qcow2"


ERROR_PREFIX = {"en": "error: ", "ja": "エラー: "}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("case", ERRORS)
def test_errors_are_one_line_and_no_traceback(images, case, lang):
    make, message = ERRORS[case]
    name = make(images)
    args = ("--map-json",) if case == "chain-loop" else ()
    result = inspect(name, *args, cwd=images, language=lang)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{ERROR_PREFIX[lang]}{name}: ") and result.stderr.count("\n") == 1
    assert (message if lang == "en" else ERRORS_JA[case]) in result.stderr
    assert result.stdout == ""


ORPHAN = {   # (the note, the map row, the error of --map-json); the OS's strerror is in English
    "en": ("note: cannot open the backing file: gone.qcow2: No such file or directory",
           "not allocated here: read from the backing file gone.qcow2",
           "error: orphan.qcow2: cannot follow the backing chain: gone.qcow2: No such file or directory\n"),
    "ja": ("注: バッキングファイルを開けません: gone.qcow2: No such file or directory",
           "ここでは未割り当て: バッキングファイルgone.qcow2から読む",
           "エラー: orphan.qcow2: バッキングファイルの鎖をたどれません: gone.qcow2: No such file or directory\n"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_backing_file_is_a_note_in_the_report_and_an_error_for_the_chain(images, lang):
    sh("qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 -u orphan.qcow2 1M", images)
    note, row, error = ORPHAN[lang]
    result = inspect("orphan.qcow2", "--show", "header,map,chain", cwd=images, language=lang)
    assert result.returncode == 0
    assert note in result.stdout and row in result.stdout
    result = inspect("orphan.qcow2", "--map-json", cwd=images, language=lang)
    assert result.returncode == 1
    assert result.stderr == error


BAD_ARGUMENTS = {
    "en": ["error: base.qcow2: guest offset 0x400000 is beyond the virtual disk (4194304 bytes)\n",
           "error: cannot read no-such.qcow2: No such file or directory\n",
           "not an offset: 'lots' (write 65536, 0x10000, 64k or 1M)",
           "unknown section everything (choose from header,snapshots,l1,l2,map,chain,refcounts,check)"],
    "ja": ["エラー: base.qcow2: ゲストオフセット0x400000は仮想ディスク（4194304バイト）の外です\n",
           "エラー: no-such.qcow2を読めません: No such file or directory\n",
           "オフセットではありません: 'lots'（65536、0x10000、64k、1Mのように書きます）",
           "知らない節です: everything（選べるのはheader,snapshots,l1,l2,map,chain,refcounts,check）"],
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_bad_arguments_and_unreadable_files(images, lang):
    beyond, missing, offset, section = BAD_ARGUMENTS[lang]
    result = inspect("base.qcow2", "--offset", "4M", cwd=images, language=lang)
    assert result.returncode == 1 and result.stderr == beyond
    result = inspect("no-such.qcow2", cwd=images, language=lang)
    assert result.returncode == 2 and result.stderr == missing
    result = inspect(".", cwd=images, language=lang)
    assert result.returncode == 2 and "Is a directory" in result.stderr
    result = inspect("base.qcow2", "--offset", "lots", cwd=images, language=lang)
    assert result.returncode == 2 and offset in result.stderr and "Traceback" not in result.stderr
    result = inspect("base.qcow2", "--show", "everything", cwd=images, language=lang)
    assert result.returncode == 2 and section in result.stderr
    result = inspect("--help", cwd=images, language=lang)
    assert result.returncode == 0 and qi.MESSAGES["help-offset"][lang] in result.stdout
    assert qi.parse_size("64k") == 65536 and qi.parse_size("0x10000") == 65536 and qi.parse_size("1M") == 1 << 20


def test_corrupted_images_never_end_in_a_traceback(images, tmp_path, language):
    """Random bytes in the header and the tables: every run ends in a report or one error."""
    rng = random.Random(2024)
    sources = ["base.qcow2", "overlay.qcow2", "snapshot.qcow2", "compressed.qcow2", "extended-l2.qcow2",
               "version-2.qcow2"]
    for source in sources:
        shutil.copy(images / source, tmp_path / source)
    shutil.copy(images / "base.qcow2", tmp_path / "base.qcow2")
    shutil.copy(images / "sub-base.qcow2", tmp_path / "sub-base.qcow2")
    regions = [(0, 120), (0x10000, 0x10010), (0x20000, 0x20010), (0x30000, 0x30010), (0x40000, 0x40040)]
    for i in range(60):
        data = bytearray((images / rng.choice(sources)).read_bytes())
        for _ in range(rng.randint(1, 4)):
            start, end = rng.choice(regions)
            if start < len(data):
                data[rng.randrange(start, min(end, len(data)))] = rng.randrange(256)
        if rng.random() < 0.2:
            data = data[:rng.randrange(len(data))]
        target = tmp_path / "fuzzed.qcow2"
        target.write_bytes(bytes(data))
        for args in ([], ["--map-json"], ["--offset", "0x1234"]):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = qi.main([str(target), *args])
                except SystemExit as exit_:   # argparse only
                    code = exit_.code
            assert code in (0, 1), (i, args, err.getvalue())
            assert code == 0 or err.getvalue().startswith(ERROR_PREFIX[language]), (i, args, err.getvalue())
            if language == "en":
                assert_english(out.getvalue() + err.getvalue())


if __name__ == "__main__":
    regenerate()
