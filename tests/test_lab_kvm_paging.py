"""The kvm-paging lab (docs/labs/kvm_paging.py) as a reader runs it.

- ``python3 docs/labs/kvm_paging.py`` prints the guest's exits exactly, then for each
  address the walk through the guest's page tables (indices taken from the GVA, entry
  addresses, the values the VMM built and the A/D bits set during the run), KVM_TRANSLATE's
  answer (which must agree with the walk, also for addresses the guest never touched), the
  memory slot (GPA → HVA) and /proc/self/pagemap (HVA → HPA, or why the PFN reads 0).
- The reference counts follow the page-walk widget's rule (overrides/hooks/page_walk.py),
  and the widget's lab presets (docs/_data/page-walk.yml) are what the program prints.
- The exercises' solutions on the page behave as the page says.
- The program prints in the reader's language: one run per language (LANG=ja_JP.UTF-8,
  LANG=C.UTF-8) is parsed with that language's labels.
- Bad environments (missing device, permission denied, another architecture, a KVM that
  offers no long mode, refuses KVM_SET_SREGS or cannot enter the guest) end with a
  message in the reader's language and a non-zero exit code, never a traceback, and every
  fd and mapping is closed.
- The ctypes structures and ioctl numbers match <linux/kvm.h> (gcc) and the guest listing
  assembles (GNU as, .code64) to the bytes the program loads.

The only allowed skip is a machine without /dev/kvm. The header and assembler checks skip
without their tools locally and fail in CI (CI=true), as in tests/test_labs_kvm.py.
"""

from __future__ import annotations

import ctypes
import errno
import importlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from tests.support.lab_language import LANGUAGES, assert_english, environment, language, speaking, text  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "docs" / "labs"
PAGING = LABS / "kvm_paging.py"
HELLO = LABS / "kvm_hello.py"
WIDGET_DATA = ROOT / "docs" / "_data" / "page-walk.yml"
PAGES = [LABS / "kvm-paging.md", ROOT / "docs" / "drafts" / "labs" / "kvm-paging.md"]  # published or draft
EN_PAGE = LABS / "kvm-paging.en.md"  # once it is written
KVM_DEVICE = "/dev/kvm"
IN_CI = os.environ.get("CI") == "true"

sys.path.insert(0, str(LABS))
import kvm_hello  # noqa: E402  (the lab files live in docs/labs, as the reader downloads them)
import kvm_paging  # noqa: E402


@pytest.fixture
def kvm():
    """The real /dev/kvm; its absence is the one reason a lab test may skip."""
    if not os.path.exists(KVM_DEVICE):
        pytest.skip(f"{KVM_DEVICE} がありません: このマシンではKVMの実習を実行できません")
    return KVM_DEVICE


def tool_missing(what: str):
    if IN_CI:
        pytest.fail(f"{what} is missing in CI (.ci/run must install it)")
    pytest.skip(f"{what} is missing")


def run_file(path: Path, *args: str, cwd: Path = ROOT, language: str = "ja", **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(path), *args], cwd=cwd, capture_output=True, text=True,
                            timeout=60, env=environment(language), **kwargs)
    if language == "en":
        assert_english(result.stdout + result.stderr)
    return result


@pytest.fixture(scope="module", params=LANGUAGES)
def lab_run(request):
    """One run of the program per language, exactly as the page says (it takes ~0.5 s):
    (language, stdout, seconds)."""
    if not os.path.exists(KVM_DEVICE):
        pytest.skip(f"{KVM_DEVICE} がありません: このマシンではKVMの実習を実行できません")
    start = time.monotonic()
    result = run_file(Path("docs/labs/kvm_paging.py"), language=request.param)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return request.param, result.stdout, elapsed


# ---- Parsing the output ---------------------------------------------------------------------

# The words the output uses, per language (the program's MESSAGES say the same).
WORDS = {
    "ja": {"walks": "--- アドレスごとの変換 ---", "run": "--- ゲストの実行 ---", "walk": "Pythonのウォーク",
           "references": "TLBミスのときの参照", "agrees": "（Pythonのウォークと一致）",
           "no-slot": "スロットなし（このGPAへのアクセスはKVM_EXIT_MMIOでVMMに届く）", "pfn-zero": "PFNが0",
           "slot": r"スロット(\d)（GPA 0x([0-9a-f]+)〜がHVA 0x([0-9a-f]+)〜） → HVA 0x([0-9a-f]+)",
           "gpa": "GPA {gpa}（{size}のページ）", "unmapped": "変換できない（{level}のエントリのP = 0）",
           "counts": "ネイティブ{native}回、シャドウ{shadow}回、EPT/NPT {nested}回（ネステッドも{size}のページのとき）",
           "host-lines": ("ホスト: ", "GPA → HPAの変換: ", "ゲストのCPUID: ")},
    "en": {"walks": "--- Each address, translated ---", "run": "--- Running the guest ---", "walk": "Python's walk",
           "references": "References on a TLB miss", "agrees": "(agrees with Python's walk)",
           "no-slot": "no slot (an access to this GPA reaches the VMM as KVM_EXIT_MMIO)", "pfn-zero": "the PFN reads as 0",
           "slot": r"slot (\d) \(starts at GPA 0x([0-9a-f]+), HVA 0x([0-9a-f]+)\) → HVA 0x([0-9a-f]+)",
           "gpa": "GPA {gpa} ({size} page)", "unmapped": "no translation (P = 0 in the {level} entry)",
           "counts": "native {native}, shadow {shadow}, EPT/NPT {nested} (with {size} pages in the nested tables too)",
           "host-lines": ("Host: ", "GPA → HPA translation: ", "Guest CPUID: ")},
}

ENTRY = re.compile(r"^  (PML4|PDPT|PD|PT)\[(\d+)\] +GPA 0x([0-9a-f]+) +0x([0-9a-f]{16})(?: → 0x([0-9a-f]{16}))?(?:  +(.*))?$")


def blocks(output: str, lang: str = "ja") -> dict[int, list[str]]:
    """The per-address blocks after the title '--- アドレスごとの変換 ---', keyed by GVA."""
    tail = output.split(WORDS[lang]["walks"] + "\n", 1)[1]
    result = {}
    for chunk in re.split(r"^(?=GVA 0x)", tail, flags=re.M):
        if chunk.strip():
            head, *rest = chunk.rstrip("\n").split("\n")
            result[int(re.match(r"GVA 0x([0-9a-f]+)", head).group(1), 16)] = [head, *rest]
    return result


def parse_block(lines: list[str]) -> dict:
    steps = []
    for line in lines[1:]:
        m = ENTRY.match(line)
        if m:
            built = int(m.group(4), 16)
            after = int(m.group(5), 16) if m.group(5) else built
            steps.append({"table": m.group(1), "index": int(m.group(2)), "entry_gpa": int(m.group(3), 16),
                          "built": built, "entry": after, "flags": (m.group(6) or "").split()})
    fields = {}
    for line in lines[1:]:
        if not ENTRY.match(line) and ":" in line:
            key, value = line.strip().split(":", 1)
            fields[key.strip()] = value.strip()
    return {"steps": steps, **fields}


GUEST_RUN = {
    "ja": [
        "KVM_EXIT_IO    OUT ポート0x10: 0x00178020（ゲストが読んだ値）",
        "KVM_EXIT_IO    OUT ポート0x10: 0x00212340（ゲストが読んだ値）",
        "KVM_EXIT_MMIO  書き込み GPA 0x10000000 len=1 data=0x42",
        "KVM_EXIT_IO    OUT ポート0x11: 0x80607000（CR2の下位32ビット）",
        "KVM_EXIT_IO    OUT ポート0x11: 0x00000080（CR2の上位32ビット）",
        "KVM_EXIT_IO    OUT ポート0x12: 0x00000002（ページフォールトのエラーコード）",
        "KVM_EXIT_HLT",
        "ゲストのページフォールト: CR2 = 0x8080607000、エラーコード = 0x2"
        "（P=0: ページがない、W/R=1: 書き込み、U/S=0: スーパーバイザー）",
        "KVM_GET_SREGSで読んだCR2: 0x8080607000（ゲストの報告と同じ）",
        "VMMから見たGPA 0x153010の1バイト: 0x5a",
        "--- アドレスごとの変換 ---",
    ],
    "en": [
        "KVM_EXIT_IO    OUT port 0x10: 0x00178020 (the value the guest read)",
        "KVM_EXIT_IO    OUT port 0x10: 0x00212340 (the value the guest read)",
        "KVM_EXIT_MMIO  write GPA 0x10000000 len=1 data=0x42",
        "KVM_EXIT_IO    OUT port 0x11: 0x80607000 (CR2, low 32 bits)",
        "KVM_EXIT_IO    OUT port 0x11: 0x00000080 (CR2, high 32 bits)",
        "KVM_EXIT_IO    OUT port 0x12: 0x00000002 (the page fault's error code)",
        "KVM_EXIT_HLT",
        "Guest page fault: CR2 = 0x8080607000, error code = 0x2 (P=0: page not present, W/R=1: write, U/S=0: supervisor)",
        "CR2 read with KVM_GET_SREGS: 0x8080607000 (the same as the guest reported)",
        "The byte at GPA 0x153010, as the VMM sees it: 0x5a",
        "--- Each address, translated ---",
    ],
}


def test_guest_exits_are_printed_in_order(lab_run):
    lang, out, _ = lab_run
    lines = out.splitlines()
    start = lines.index(WORDS[lang]["run"])
    assert lines[start + 1 : start + 12] == GUEST_RUN[lang]
    # The values the guest read are the markers the VMM put at those GPAs: the reads landed there.
    assert 0x178020 == kvm_paging.READ_GPA + (kvm_paging.GVA_READ & 0xFFF)
    assert 0x212340 == kvm_paging.HIGH_GPA + (kvm_paging.GVA_2M & (kvm_paging.PAGE_2M - 1))


HEADER_LINES = {
    "ja": (r"ゲストのCPUID: ロングモード あり、NX (あり|なし)、1 GiBのページ (あり|なし)",
           "ページテーブル: PML4 0x1000、PDPT 0x2000、PD 0x3000、PDPT 0x4000、PD 0x5000、PT 0x6000（CR3 = 0x1000）",
           "ホスト: PVM（kvm_pvm", "GPA → HPAの変換: シャドウページング（ソフトウェア）"),
    "en": (r"Guest CPUID: long mode yes, NX (yes|no), 1 GiB pages (yes|no)",
           "Page tables: PML4 0x1000, PDPT 0x2000, PD 0x3000, PDPT 0x4000, PD 0x5000, PT 0x6000 (CR3 = 0x1000)",
           "Host: PVM (kvm_pvm", "GPA → HPA translation: shadow paging (software)"),
}


def test_header_names_the_host_and_the_guest_cpu(lab_run):
    lang, out, _ = lab_run
    lines = out.splitlines()
    host, stage, _ = WORDS[lang]["host-lines"]
    cpuid, tables, pvm_host, pvm_stage = HEADER_LINES[lang]
    assert lines[0].startswith(host) and lines[1].startswith(stage)
    assert re.fullmatch(cpuid, lines[2])
    assert lines[3] == tables
    if os.path.isdir("/sys/module/kvm_pvm"):  # the course's machine
        assert lines[0].startswith(pvm_host) and lines[1] == pvm_stage


def test_walks_follow_the_gva_bits_and_the_tables_the_vmm_built(lab_run):
    lang, out, _ = lab_run
    found = blocks(out, lang)
    assert list(found) == [gva for gva, _ in kvm_paging.ADDRESSES]
    for gva, lines in found.items():
        block = parse_block(lines)
        steps = block["steps"]
        table = 0x1000  # CR3
        for step, (name, shift) in zip(steps, kvm_paging.LEVELS):
            assert step["table"] == name
            assert step["index"] == (gva >> shift) & 0x1FF, (hex(gva), name)
            assert step["entry_gpa"] == table + 8 * step["index"]
            table = step["entry"] & kvm_paging.ADDR_MASK
        expected_levels = {kvm_paging.GVA_2M: 3}.get(gva, 4)
        assert len(steps) == expected_levels


def test_accessed_and_dirty_bits_set_during_the_run(lab_run):
    """The VMM built every entry with A = D = 0; the guest's accesses set them."""
    lang, out, _ = lab_run
    found = {gva: parse_block(lines) for gva, lines in blocks(out, lang).items()}
    P, A, D = kvm_paging.PTE_P, kvm_paging.PTE_A, kvm_paging.PTE_D
    for gva, block in found.items():
        for step in block["steps"]:
            assert step["built"] & (A | D) == 0
            if step["entry"] & P:
                assert step["entry"] & A, f"{hex(gva)} {step['table']}: walked, so accessed"
                assert "A" in step["flags"]
    leaf = {gva: block["steps"][-1] for gva, block in found.items()}
    assert leaf[kvm_paging.GVA_WRITE]["entry"] & D and "D" in leaf[kvm_paging.GVA_WRITE]["flags"]  # written
    assert leaf[kvm_paging.GVA_MMIO]["entry"] & D  # written (the MMIO store)
    assert not leaf[kvm_paging.GVA_READ]["entry"] & D and "D" not in leaf[kvm_paging.GVA_READ]["flags"]  # only read
    assert not leaf[kvm_paging.GVA_2M]["entry"] & D
    assert "PS" in leaf[kvm_paging.GVA_2M]["flags"]
    assert leaf[kvm_paging.GVA_WRITE]["built"] == 0x8000000000153003
    assert leaf[kvm_paging.GVA_WRITE]["entry"] == 0x8000000000153063
    assert leaf[kvm_paging.GVA_UNMAPPED]["entry"] == 0  # P = 0: where the page fault came from
    # Only a leaf entry shows D: in the other levels bit 6 is ignored.
    assert all("D" not in s["flags"] for block in found.values() for s in block["steps"][:-1])


def test_kvm_translate_agrees_with_the_walk(lab_run):
    lang, out, _ = lab_run
    words = WORDS[lang]
    for gva, lines in blocks(out, lang).items():
        block = parse_block(lines)
        walk, translate = block[words["walk"]], block["KVM_TRANSLATE"]
        assert translate.endswith(words["agrees"]), (hex(gva), translate)
        if gva == kvm_paging.GVA_UNMAPPED:
            assert walk == words["unmapped"].format(level="PT")
            assert translate.startswith("valid = 0")
        else:
            gpa = re.match(r"GPA 0x([0-9a-f]+)", walk).group(1)
            assert translate.startswith(f"GPA 0x{gpa}" + {"ja": "（", "en": " ("}[lang])


def test_gpa_to_hva_and_hva_to_hpa(lab_run):
    lang, out, _ = lab_run
    words = WORDS[lang]
    privileged = os.geteuid() == 0
    for gva, lines in blocks(out, lang).items():
        block = parse_block(lines)
        if gva == kvm_paging.GVA_UNMAPPED:
            assert "GPA → HVA" not in block
            continue
        gpa = int(re.match(r"GPA 0x([0-9a-f]+)", block[words["walk"]]).group(1), 16)
        if gva == kvm_paging.GVA_MMIO:
            assert gpa == kvm_paging.MMIO_GPA
            assert block["GPA → HVA"] == words["no-slot"]
            assert "HVA → HPA" not in block
            continue
        m = re.fullmatch(words["slot"], block["GPA → HVA"])
        slot, base_gpa, base_hva, hva = int(m.group(1)), *(int(g, 16) for g in m.groups()[1:])
        assert (slot, base_gpa) == ((1, 0x200000) if gva == kvm_paging.GVA_2M else (0, 0x0))
        assert hva == base_hva + (gpa - base_gpa)
        assert base_hva % 4096 == 0
        hpa_line = block["HVA → HPA"]
        if privileged:  # root has CAP_SYS_ADMIN: pagemap shows the PFN
            m = re.fullmatch(r"PFN 0x([0-9a-f]+) → HPA 0x([0-9a-f]+)", hpa_line)
            assert m, hpa_line
            pfn, hpa = int(m.group(1), 16), int(m.group(2), 16)
            assert pfn > 0 and hpa == pfn * 4096 + hva % 4096
        else:
            assert words["pfn-zero"] in hpa_line


def test_reference_counts_follow_the_widgets_rule(lab_run, widget_hook):
    lang, out, _ = lab_run
    seen = set()
    for gva, lines in blocks(out, lang).items():
        block = parse_block(lines)
        line = block.get(WORDS[lang]["references"])
        if gva in (kvm_paging.GVA_UNMAPPED, kvm_paging.GVA_MMIO):
            assert line is None
            continue
        page = "2m" if gva == kvm_paging.GVA_2M else "4k"
        native, shadow, nested = (widget_hook.references(mode, 4, 4, page) for mode in ("native", "shadow", "nested"))
        size = {"4k": "4 KiB", "2m": "2 MiB"}[page]
        assert line == WORDS[lang]["counts"].format(native=native, shadow=shadow, nested=nested, size=size)
        seen.add(nested)
    assert seen == {24, 15}


@pytest.fixture
def widget_hook(monkeypatch):
    """overrides/hooks/page_walk.py, loaded the way MkDocs loads it."""
    monkeypatch.syspath_prepend(str(ROOT / "overrides" / "hooks"))
    module = importlib.import_module("page_walk")
    yield module
    sys.modules.pop("page_walk", None)


def test_counting_rule_is_the_widgets_for_every_page_size_and_depth(widget_hook):
    """The lab counts its own walks (the reader has no hooks); both must use one rule."""
    sizes = {"4k": kvm_paging.PAGE_4K, "2m": kvm_paging.PAGE_2M, "1g": kvm_paging.PAGE_1G}
    for levels in (4, 5):
        for page, size in sizes.items():
            lab = kvm_paging.references_for(size, levels)
            assert lab == {mode: widget_hook.references(mode, levels, levels, page)
                           for mode in ("native", "shadow", "nested")}
    assert kvm_paging.references_for(kvm_paging.PAGE_4K, 5) == {"native": 5, "shadow": 5, "nested": 35}


def test_widget_presets_are_what_the_lab_prints(lab_run):
    """docs/_data/page-walk.yml's lab_walks replay this program's walks, entry by entry."""
    lang, out, _ = lab_run
    data = yaml.safe_load(WIDGET_DATA.read_text(encoding="utf-8"))["lab_walks"]["walks"]
    found = blocks(out, lang)
    assert [int(w["gva"], 16) for w in data] == [kvm_paging.GVA_WRITE, kvm_paging.GVA_2M]
    for recorded in data:
        block = parse_block(found[int(recorded["gva"], 16)])
        printed = [{"table": s["table"], "index": s["index"], "entry_gpa": hex(s["entry_gpa"]),
                    "entry": f"0x{s['entry']:016x}"} for s in block["steps"]]
        assert printed == recorded["steps"]
        size = {"4k": "4 KiB", "2m": "2 MiB"}[recorded["page"]]
        assert block[WORDS[lang]["walk"]] == WORDS[lang]["gpa"].format(gpa=recorded["gpa"], size=size)


# ---- KVM_TRANSLATE against the walk, beyond the guest's own addresses -------------------------


def extra_addresses(monkeypatch, *gvas: int) -> tuple:
    """ADDRESSES entries for more GVAs, with a message (the test's own) as their label."""
    monkeypatch.setitem(kvm_paging.MESSAGES, "test-address", {"ja": "テスト", "en": "a test"})
    return tuple((gva, "test-address") for gva in gvas)


def test_translate_agrees_for_addresses_the_guest_never_used(kvm, monkeypatch, language):
    """Identity-mapped, unmapped at every level, and the ends of pages: same answer both ways."""
    extra = extra_addresses(
        monkeypatch, 0x0, 0x1FFFFF, 0x200000,  # the identity mapping's first and last byte; PD entry 1 empty
        kvm_paging.GVA_WRITE | 0xFFF, 0x80_8060_8000,  # a page's last byte; PT entry 8 empty
        0x80_C000_0000, 0x1000_0000_0000,  # PDPT entry 3 empty; PML4 entry 32 empty
        kvm_paging.GVA_2M | 0x1FFFFF,  # the 2 MiB page's last byte
    )
    monkeypatch.setattr(kvm_paging, "ADDRESSES", kvm_paging.ADDRESSES + extra)
    out = io.StringIO()
    kvm_paging.paging(kvm, out)
    found = blocks(out.getvalue(), language)
    assert len(found) == len(kvm_paging.ADDRESSES)
    words = WORDS[language]
    for gva, lines in found.items():
        assert parse_block(lines)["KVM_TRANSLATE"].endswith(words["agrees"]), "\n".join(lines)
    assert parse_block(found[0x1FFFFF])[words["walk"]] == words["gpa"].format(gpa="0x1fffff", size="2 MiB")
    assert parse_block(found[0x1000_0000_0000])[words["walk"]] == words["unmapped"].format(level="PML4")


def test_the_walk_reads_before_kvm_translate(kvm, monkeypatch):
    """KVM_TRANSLATE walks the guest's tables in software and may set A bits (seen on the
    course's machine); the program reads the entries first, so the A/D bits it shows are the
    guest's. An address the guest never used keeps A = 0 in the first report."""
    untouched = 0x80_8060_8000
    original = kvm_paging.build_page_tables

    def build(memory):
        tables = original(memory)
        tables.map(untouched, 0x179000, kvm_paging.PAGE_4K, kvm_paging.PTE_P | kvm_paging.PTE_RW)
        return tables

    monkeypatch.setattr(kvm_paging, "build_page_tables", build)
    monkeypatch.setattr(kvm_paging, "ADDRESSES", extra_addresses(monkeypatch, untouched, untouched))
    out = io.StringIO()
    with speaking("ja"):
        kvm_paging.paging(kvm, out)
    tail = out.getvalue().split(WORDS["ja"]["walks"] + "\n")[1]
    first, second = (parse_block(b.rstrip("\n").split("\n")) for b in re.split(r"^(?=GVA 0x)", tail, flags=re.M)[1:])
    assert first["steps"][-1]["entry"] & kvm_paging.PTE_A == 0
    assert first["KVM_TRANSLATE"] == "GPA 0x179000（Pythonのウォークと一致）"
    # What the second report shows depends on the KVM; it must still agree.
    assert second["KVM_TRANSLATE"] == "GPA 0x179000（Pythonのウォークと一致）"


# ---- The exercises' solutions ---------------------------------------------------------------


def solution(tmp_path: Path, replacements: list[tuple[str, str]]) -> str:
    """The program with a solution's edits applied, run from a copy as the reader would
    (in Japanese, as the Japanese page's solutions print)."""
    text = PAGING.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (tmp_path / PAGING.name).write_text(text, encoding="utf-8")
    shutil.copy(HELLO, tmp_path / HELLO.name)
    result = run_file(tmp_path / PAGING.name, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_exercise_1_gib_page(kvm, tmp_path):
    out = solution(tmp_path, [
        ("GVA_2M = 0x0000_0080_8081_2340", "GVA_2M = 0x0000_0080_C021_2340"),
        ("tables.map(GVA_2M & ~(PAGE_2M - 1), HIGH_GPA, PAGE_2M, PTE_P | PTE_RW | PTE_NX)",
         "tables.map(GVA_2M & ~(PAGE_1G - 1), 0x0, PAGE_1G, PTE_P | PTE_RW | PTE_NX)"),
    ])
    block = parse_block(blocks(out)[0x80C0212340])
    assert [s["table"] for s in block["steps"]] == ["PML4", "PDPT"]
    assert block["KVM_TRANSLATE"].endswith("（Pythonのウォークと一致）")
    if "1 GiBのページ あり" in out:  # the guest may use 1 GiB pages: two levels, 8 references with EPT/NPT
        assert "KVM_EXIT_IO    OUT ポート0x10: 0x00212340（ゲストが読んだ値）" in out
        assert block["TLBミスのときの参照"].startswith("ネイティブ2回、シャドウ2回、EPT/NPT 8回")
    else:  # as on the course's machine: PS in a PDPTE is a reserved bit, so the read faults
        assert "ゲストのページフォールト: CR2 = 0x80c0212340、エラーコード = 0x9" in out
        assert "RSVD=1: 予約ビットが1" in out
        assert block["Pythonのウォーク"].startswith("変換できない（PDPTのエントリのPS = 1")


def test_exercise_clear_dirty_and_run_again(kvm, tmp_path):
    out = solution(tmp_path, [(
        "        report = run_guest(vcpu, out)\n",
        "        report = run_guest(vcpu, out)\n"
        "        pte = walk(memory, tables, tables.cr3, GVA_WRITE, features['page1gb']).steps[-1]\n"
        "        memory.write_u64(pte.entry_gpa, pte.entry & ~PTE_D)  # clear D\n"
        "        print(f'D cleared: 0x{memory.read_u64(pte.entry_gpa):016x}', file=out)\n"
        "        vcpu.set_regs(KvmRegs(rip=CODE_GPA, rsp=STACK_TOP, rflags=0x2))  # from the start again\n"
        "        report = run_guest(vcpu, out)\n",
    )])
    assert "D cleared: 0x8000000000153023" in out
    assert out.count("KVM_EXIT_HLT") == 2
    leaf = parse_block(blocks(out)[kvm_paging.GVA_WRITE])["steps"][-1]
    # On the course's machine (PVM) the second write sets D again; a CPU may keep a TLB entry
    # with D = 1 and skip it (the page explains INVLPG), so only check the printout's form.
    if os.path.isdir("/sys/module/kvm_pvm"):
        assert leaf["entry"] == 0x8000000000153063


def test_exercise_write_fault_with_rw_0(kvm, tmp_path):
    out = solution(tmp_path, [(
        "tables.map(GVA_WRITE & ~(PAGE_4K - 1), WRITE_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_NX)",
        "tables.map(GVA_WRITE & ~(PAGE_4K - 1), WRITE_GPA, PAGE_4K, PTE_P | PTE_NX)",
    )])
    assert ("ゲストのページフォールト: CR2 = 0x8080604010、エラーコード = 0x3"
            "（P=1: 保護違反、W/R=1: 書き込み、U/S=0: スーパーバイザー）") in out
    assert "VMMから見たGPA 0x153010の1バイト: 0x00" in out
    assert "ポート0x10" not in out  # the guest stopped at its first instruction's fault


# ---- Runtime and the files -----------------------------------------------------------------


def test_runs_in_a_second_or_two(lab_run):
    _, _, elapsed = lab_run
    assert elapsed < 10


def test_importing_the_lab_does_nothing():
    result = subprocess.run([sys.executable, "-c", "import kvm_paging"], cwd=LABS, capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_without_kvm_hello_says_what_to_do(tmp_path, language):
    shutil.copy(PAGING, tmp_path / PAGING.name)
    result = run_file(tmp_path / PAGING.name, cwd=tmp_path, language=language)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert result.stderr.startswith({"ja": "エラー: kvm_hello.pyが見つかりません。",
                                     "en": "error: kvm_hello.py not found."}[language])


def pages() -> list[tuple[str, Path]]:
    """(language, page): the Japanese page (published or draft) and the English one once written."""
    ja = next((p for p in PAGES if p.exists()), None)
    assert ja is not None, "docs/labs/kvm-paging.md (or its draft) exists"
    return [("ja", ja)] + ([("en", EN_PAGE)] if EN_PAGE.exists() else [])


@pytest.mark.parametrize("lang, page", pages())
def test_page_includes_the_program_and_links_to_it(lang, page):
    text = page.read_text(encoding="utf-8")
    for program in ("kvm_paging.py", "kvm_hello.py"):
        assert re.search(rf"\]\([^)\s]*\b{re.escape(program)}\)", text), f"the page offers {program} for download"
    source = PAGING.read_text(encoding="utf-8")
    sections = re.findall(r'--8<-- "kvm_paging\.py:([a-z-]+)"', text)
    assert len(sections) >= 8, "the page shows the program from the file, not a copy"
    for section in sections:
        assert f"# --8<-- [start:{section}]" in source and f"# --8<-- [end:{section}]" in source


# ---- Bad environments ---------------------------------------------------------------------


def test_missing_device(tmp_path, language):
    missing = tmp_path / "no-such-kvm"
    result = run_file(PAGING, "--device", str(missing), language=language)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert {"ja": f"エラー: {missing}がありません", "en": f"error: {missing} does not exist"}[language] in result.stderr
    assert result.stdout == ""


@pytest.fixture
def download_dir():
    """The two lab files in a fresh world-readable directory directly in /tmp (``nobody``
    cannot traverse root's directories), as in tests/test_labs_kvm.py."""
    directory = Path(tempfile.mkdtemp(prefix="kvm-paging-"))
    directory.chmod(0o755)
    for lab in (HELLO, PAGING):
        shutil.copy(lab, directory / lab.name)
        (directory / lab.name).chmod(0o644)
    yield directory
    shutil.rmtree(directory)


def as_other_user() -> dict:
    return {"user": "nobody", "group": "nogroup", "extra_groups": []} if os.geteuid() == 0 else {}


def python_for(how: dict) -> str:
    for candidate in dict.fromkeys(c for c in (sys.executable, shutil.which("python3"), "/usr/bin/python3") if c):
        try:
            check = subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 11)"],
                                   capture_output=True, **how)
        except OSError:
            continue
        if check.returncode == 0:
            return candidate
    pytest.fail(f"no Python 3.11+ that {how.get('user', 'this user')} can run")


def test_permission_denied(download_dir, language):
    how = as_other_user()
    if how and os.path.exists(KVM_DEVICE) and not os.stat(KVM_DEVICE).st_mode & 0o006:
        device = KVM_DEVICE  # the real device, which nobody may not open
    else:
        device = str(download_dir / "kvm")
        Path(device).touch(mode=0o000)
    result = subprocess.run([python_for(how), PAGING.name, "--device", device], cwd=download_dir,
                            capture_output=True, text=True, timeout=60, env=environment(language), **how)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert {"ja": f"エラー: {device}を開く権限がありません",
            "en": f"error: you do not have permission to open {device}"}[language] in result.stderr


def test_pagemap_without_cap_sys_admin_explains_the_zero_pfn(download_dir, language):
    """An unprivileged process reads its own pagemap with the PFN zeroed (Linux 4.2+)."""
    how = as_other_user()  # as root, drop to nobody; otherwise this user already lacks CAP_SYS_ADMIN
    script = (
        "from contextlib import ExitStack\n"
        "import kvm_paging, kvm_hello\n"
        "with ExitStack() as stack:\n"
        "    m = kvm_hello.Mapping(4096); stack.callback(m.close)\n"
        "    m.write(0, b'x')\n"
        "    print(kvm_paging.Pagemap(stack).hpa(m.addr)[1])\n"
    )
    result = subprocess.run([python_for(how), "-c", script], cwd=download_dir, capture_output=True, text=True,
                            timeout=60, env=environment(language), **how)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == {
        "ja": "PFNが0と読めました（CAP_SYS_ADMINのないプロセスには、カーネルがPFNを隠します）",
        "en": "the PFN reads as 0 (the kernel hides PFNs from a process without CAP_SYS_ADMIN)",
    }[language]


def run_main(argv, capsys):
    """kvm_paging.main(argv) in this process: (code, stdout, stderr), nothing leaked."""
    mappings = []
    original_init = kvm_hello.Mapping.__init__

    def tracking_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        mappings.append(self)

    kvm_hello.Mapping.__init__ = tracking_init
    fds = set(os.listdir("/proc/self/fd"))
    try:
        code = kvm_paging.main(argv)
    finally:
        kvm_hello.Mapping.__init__ = original_init
    captured = capsys.readouterr()
    assert set(os.listdir("/proc/self/fd")) == fds, "a file descriptor was left open"
    assert all(m.addr is None for m in mappings), "a Mapping was not closed"
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_success_closes_every_fd_and_mapping(kvm, capsys, language):
    code, out, _ = run_main([], capsys)
    assert code == 0 and WORDS[language]["walks"] in out.splitlines()


def test_other_architecture_is_refused(capsys, monkeypatch, language):
    monkeypatch.setattr(kvm_hello.platform, "machine", lambda: "aarch64")
    code, out, err = run_main([], capsys)
    assert code == 1 and out == ""
    assert {"ja": "エラー: このプログラムはx86-64のLinux用です（このマシンはaarch64）。",
            "en": "error: this program is for Linux on x86-64 (this machine is aarch64)."}[language] in err


def test_kvm_without_long_mode_is_named(kvm, capsys, monkeypatch, language):
    monkeypatch.setattr(kvm_paging, "set_cpuid", lambda kvm_fd, vcpu: {"lm": False, "nx": True, "page1gb": False})
    code, _, err = run_main([], capsys)
    assert code == 1
    assert {"ja": "エラー: このKVMは、ゲストにロングモード（64ビット）を提供していません",
            "en": "error: this KVM does not offer long mode (64-bit) to its guests"}[language] in err
    assert "KVM_GET_SUPPORTED_CPUID" in err


def test_refused_set_sregs_is_named(kvm, capsys, monkeypatch, language):
    def refuse(self, sregs):
        raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))

    monkeypatch.setattr(kvm_hello.Vcpu, "set_sregs", refuse)
    code, _, err = run_main([], capsys)
    assert code == 1
    assert {"ja": "エラー: KVM_SET_SREGSが、ロングモードの設定を受け付けませんでした（Invalid argument）。",
            "en": "error: KVM_SET_SREGS did not accept the long-mode settings (Invalid argument)."}[language] in err


CANNOT_START = {
    "ja": ("想定外のexitです: {reason}（{number}）",
           "最初のKVM_RUNが{reason}で戻りました。このKVMは、ページングの有効なロングモードのゲストを動かせないのかもしれません。"),
    "en": ("unexpected exit: {reason} ({number})",
           "The first KVM_RUN returned with {reason}. This KVM may be unable to run a long-mode guest with paging enabled."),
}


@pytest.mark.parametrize("reason", ["KVM_EXIT_FAIL_ENTRY", "KVM_EXIT_INTERNAL_ERROR"])
def test_guest_that_cannot_start_names_the_exit(kvm, capsys, monkeypatch, reason, language):
    number = getattr(kvm_hello, reason)

    def fail(self):
        self.run.exit_reason = number
        return number

    monkeypatch.setattr(kvm_hello.Vcpu, "run_once", fail)
    code, _, err = run_main([], capsys)
    assert code == 1
    for line in CANNOT_START[language]:
        assert line.format(reason=reason, number=number) in err


def test_triple_fault_is_explained(kvm, capsys, monkeypatch, language):
    """Without the IDT the page fault cannot be delivered: #PF → #DF → triple fault → SHUTDOWN."""
    monkeypatch.setattr(kvm_paging, "idt_gate", lambda handler, selector: bytes(16))  # gate not present
    code, out, err = run_main([], capsys)
    assert code == 1
    assert CANNOT_START[language][0].format(reason="KVM_EXIT_SHUTDOWN", number=8) in err
    assert {"ja": "トリプルフォールト", "en": "a triple fault"}[language] in err
    assert "KVM_EXIT_MMIO" in out  # everything before the fault ran


def test_messages_of_the_other_paths(monkeypatch, language):
    """The paths a healthy run never takes, each with its message in the reader's language."""
    ja = language == "ja"
    memory = kvm_paging.GuestMemory.__new__(kvm_paging.GuestMemory)
    memory.slots = []
    with pytest.raises(kvm_hello.KvmError, match="GPA 0x5000にはメモリのスロットがありません" if ja
                       else "there is no memory slot at GPA 0x5000"):
        memory.read(0x5000, 1)
    tables = kvm_paging.PageTables.__new__(kvm_paging.PageTables)
    with pytest.raises(kvm_hello.KvmError, match="GVA 0x1001とGPA 0x0は、4 KiBのページの先頭になれません" if ja
                       else "GVA 0x1001 and GPA 0x0 cannot be the start of a 4 KiB page"):
        tables.map(0x1001, 0x0, kvm_paging.PAGE_4K, kvm_paging.PTE_P)
    # All five bits of a page fault's error code, and the other value of each.
    assert kvm_paging.describe_error_code(0x1F) == (
        "P=1: 保護違反、W/R=1: 書き込み、U/S=1: ユーザー、RSVD=1: 予約ビットが1、I/D=1: 命令の読み出し" if ja else
        "P=1: protection violation, W/R=1: write, U/S=1: user, RSVD=1: a reserved bit is 1, I/D=1: instruction fetch")
    assert kvm_paging.describe_error_code(0) == ("P=0: ページがない、W/R=0: 読み出し、U/S=0: スーパーバイザー" if ja else
                                                  "P=0: page not present, W/R=0: read, U/S=0: supervisor")
    # /proc/self/pagemap that cannot be opened, and a page never touched.
    pagemap = kvm_paging.Pagemap.__new__(kvm_paging.Pagemap)
    pagemap.fd, pagemap.error = None, "Permission denied"
    assert pagemap.hpa(0x1000) == (None, "/proc/self/pagemapを開けません（Permission denied）" if ja
                                   else "cannot open /proc/self/pagemap (Permission denied)")
    from contextlib import ExitStack

    with ExitStack() as stack:
        untouched = kvm_hello.Mapping(4096)
        stack.callback(untouched.close)
        assert kvm_paging.Pagemap(stack).hpa(untouched.addr) == (None, {
            "ja": "ページがメモリにありません（まだ触れていないか、スワップされた）",
            "en": "the page is not in memory (not touched yet, or swapped out)"}[language])


HOSTS = {  # (module directory, its parameter, /proc/cpuinfo flags) → (host, second stage) per language
    ("kvm_intel", "Y", "vmx"): {"ja": ("Intel VT-x（kvm_intel）", "EPT（ハードウェア）"),
                                "en": ("Intel VT-x (kvm_intel)", "EPT (hardware)")},
    ("kvm_intel", "N", "vmx hypervisor"): {
        "ja": ("Intel VT-x（kvm_intel）、ホスト自身も仮想マシン（cpuinfoにhypervisor）", "シャドウページング（EPTは無効）"),
        "en": ("Intel VT-x (kvm_intel), itself a virtual machine (hypervisor in cpuinfo)", "shadow paging (EPT disabled)")},
    ("kvm_amd", "1", "svm"): {"ja": ("AMD-V（kvm_amd）", "NPT（ハードウェア）"), "en": ("AMD-V (kvm_amd)", "NPT (hardware)")},
    ("kvm_amd", "0", "svm"): {"ja": ("AMD-V（kvm_amd）", "シャドウページング（NPTは無効）"),
                              "en": ("AMD-V (kvm_amd)", "shadow paging (NPT disabled)")},
    ("kvm_pvm", "", "svm"): {"ja": ("PVM（kvm_pvm、vmx/svmあり）", "シャドウページング（ソフトウェア）"),
                             "en": ("PVM (kvm_pvm, vmx/svm in the CPU)", "shadow paging (software)")},
    ("none", "", "fpu"): {"ja": ("不明（kvm_intel、kvm_amd、kvm_pvmのどれも読み込まれていない）", "不明"),
                          "en": ("unknown (none of kvm_intel, kvm_amd, kvm_pvm is loaded)", "unknown")},
}


@pytest.mark.parametrize("host", list(HOSTS), ids=lambda h: "-".join(filter(None, h)).replace(" ", "-"))
def test_describe_host_names_each_kind_of_host(monkeypatch, host, language):
    module, parameter, flags = host
    files = {"/proc/cpuinfo": f"flags\t\t: {flags}\n", f"/sys/module/{module}/parameters/ept": parameter,
             f"/sys/module/{module}/parameters/npt": parameter}
    monkeypatch.setattr(kvm_paging, "read_text", files.get)
    monkeypatch.setattr(kvm_paging.os.path, "isdir", lambda path: path == f"/sys/module/{module}")
    assert kvm_paging.describe_host() == HOSTS[host][language]


# ---- Against the kernel headers and the assembler ------------------------------------------

HEADER = Path("/usr/include/linux/kvm.h")


def test_structures_and_ioctls_match_the_kernel_headers(tmp_path):
    if not HEADER.exists():
        tool_missing(f"{HEADER} (Debian package linux-libc-dev)")
    if shutil.which("gcc") is None:
        tool_missing("gcc")
    facts = {
        "sizeof(struct kvm_translation)": ctypes.sizeof(kvm_paging.KvmTranslation),
        "sizeof(struct kvm_cpuid_entry2)": ctypes.sizeof(kvm_paging.KvmCpuidEntry2),
        "sizeof(struct kvm_cpuid2)": kvm_paging.KvmCpuid2.entries.offset,  # the header before the entries
        "KVM_TRANSLATE": kvm_paging.KVM_TRANSLATE,
        "KVM_GET_SUPPORTED_CPUID": kvm_paging.KVM_GET_SUPPORTED_CPUID,
        "KVM_SET_CPUID2": kvm_paging.KVM_SET_CPUID2,
    }
    for name, _ in kvm_paging.KvmTranslation._fields_:
        facts[f"offsetof(struct kvm_translation, {name})"] = getattr(kvm_paging.KvmTranslation, name).offset
    for name, _ in kvm_paging.KvmCpuidEntry2._fields_:
        facts[f"offsetof(struct kvm_cpuid_entry2, {name})"] = getattr(kvm_paging.KvmCpuidEntry2, name).offset
    for name in ("nent", "padding"):
        facts[f"offsetof(struct kvm_cpuid2, {name})"] = getattr(kvm_paging.KvmCpuid2, name).offset
    lines = [f'  printf("%s %llu\\n", "{key}", (unsigned long long)({key}));' for key in facts]
    (tmp_path / "facts.c").write_text("#include <stdio.h>\n#include <stddef.h>\n#include <linux/kvm.h>\n"
                                      "int main(void) {\n" + "\n".join(lines) + "\n  return 0;\n}\n")
    build = subprocess.run(["gcc", "-o", str(tmp_path / "facts"), str(tmp_path / "facts.c")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    output = subprocess.run([str(tmp_path / "facts")], capture_output=True, text=True, check=True).stdout
    header = {key: int(value) for key, value in (line.rsplit(" ", 1) for line in output.splitlines())}
    assert {k: (v, header[k]) for k, v in facts.items() if header[k] != v} == {}, "Python value, <linux/kvm.h> value"


def test_guest_listing_assembles_to_the_loaded_bytes(tmp_path):
    if shutil.which("as") is None or shutil.which("objcopy") is None:
        tool_missing("GNU as/objcopy (Debian package binutils)")
    source = "\n".join(line.split(";")[0] for line in kvm_paging.GUEST_ASM.splitlines())
    (tmp_path / "guest.s").write_text(".intel_syntax noprefix\n.code64\n" + source + "\n")
    subprocess.run(["as", "-o", str(tmp_path / "guest.o"), str(tmp_path / "guest.s")], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "guest.o"), str(tmp_path / "guest.bin")],
                   check=True)
    assert (tmp_path / "guest.bin").read_bytes() == kvm_paging.GUEST_CODE
    # The handler's label is where the IDT points.
    symbols = subprocess.run(["nm", str(tmp_path / "guest.o")], capture_output=True, text=True, check=True).stdout
    pf = int(re.search(r"^([0-9a-f]+) t pf$", symbols, flags=re.M).group(1), 16)
    assert kvm_paging.PF_HANDLER == kvm_paging.CODE_GPA + pf


def test_descriptors_match_the_segments_kvm_is_given():
    code, data = kvm_paging.long_mode_segments()
    assert kvm_paging.gdt_descriptor(code) == (0x00AF9B000000FFFF).to_bytes(8, "little")  # 64-bit code, DPL 0
    assert kvm_paging.gdt_descriptor(data) == (0x00CF93000000FFFF).to_bytes(8, "little")  # data, read/write
    gate = kvm_paging.idt_gate(0x1234_5678_9ABC, 0x08)
    assert len(gate) == 16 and gate[:2] == bytes([0xBC, 0x9A]) and gate[5] == 0x8E
    assert int.from_bytes(gate[6:8], "little") == 0x5678 and int.from_bytes(gate[8:12], "little") == 0x1234


def test_exercise_write_without_cr0_wp_succeeds(kvm, tmp_path):
    """The last paragraph of exercise 3: with CR0.WP = 0 the kernel may write a read-only page."""
    out = solution(tmp_path, [
        ("tables.map(GVA_WRITE & ~(PAGE_4K - 1), WRITE_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_NX)",
         "tables.map(GVA_WRITE & ~(PAGE_4K - 1), WRITE_GPA, PAGE_4K, PTE_P | PTE_NX)"),
        ("sregs.cr0 = CR0_PE | CR0_WP | CR0_PG", "sregs.cr0 = CR0_PE | CR0_PG"),
    ])
    assert "VMMから見たGPA 0x153010の1バイト: 0x5a" in out
    assert "CR2 = 0x8080607000、エラーコード = 0x2" in out  # only the planned fault
    leaf = parse_block(blocks(out)[kvm_paging.GVA_WRITE])["steps"][-1]
    assert leaf["entry"] == 0x8000000000153061 and leaf["flags"] == ["P", "A", "D", "NX"]


def mask_run_values(text: str, lang: str) -> str:
    """Hide what changes from run to run (HVAs, PFNs, HPAs) and what depends on the host."""
    text = re.sub(r"HVA 0x[0-9a-f]+", "HVA …", text)
    text = re.sub(r"HVA → HPA: .*", "HVA → HPA: …", text)
    return "\n".join(line for line in text.splitlines() if not line.startswith(WORDS[lang]["host-lines"]))


def test_page_shows_a_real_run(lab_run):
    """The page in the run's language shows this program's output, but for the values that change per run."""
    lang, out, _ = lab_run
    page = dict(pages()).get(lang)
    if page is None:
        return  # the English page is not written yet
    text = page.read_text(encoding="utf-8")
    block = text.split("{#output}", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    assert mask_run_values(block, lang) == mask_run_values(out, lang)
    assert block.startswith({"ja": "ホスト: PVM（kvm_pvm、CPUにvmx/svmなし）",
                             "en": "Host: PVM (kvm_pvm, no vmx/svm in the CPU)"}[lang])  # the page names this host
