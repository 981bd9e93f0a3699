"""The inside-a-vm lab (docs/labs/inside_a_vm.py) as a reader runs it.

- Recorded trees under tests/data/inside_a_vm/<kind>/ (KVM, Xen HVM, Hyper-V and VMware
  guests, a container, bare metal), each built from documented values (its README.md says
  where each value comes from), give the verdicts their READMEs promise.
- Missing or unreadable files are reported as unknown with the path, never a traceback.
- Everything is said in the reader's language: the trees, a real run and the failures are
  checked in Japanese (LANG=ja_JP.UTF-8) and English (LANG=C.UTF-8).
- A real run on this machine has the report's structure, and its CPUID answers agree with
  /proc/cpuinfo. The CPUID machine code assembles (GNU as) to the bytes the program runs.
- Where executable anonymous memory is forbidden (PR_SET_MDWE, Linux 6.3+, the per-process
  form of systemd's MemoryDenyWriteExecute=), or on another architecture, the report
  falls back to /proc/cpuinfo and says why.
- The outside part uses kvm_hello.py (imported, not copied), shows the KVM file
  descriptors, the vCPU thread and the guest-RAM mapping, and closes every fd, mapping
  and thread. Its only allowed skip is a machine without /dev/kvm.
- The lab page includes the program from the file, and its recorded output has the
  program's current section and summary lines.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.support.lab_language import LANGUAGES, assert_english, environment, language  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "docs" / "labs"
LAB = LABS / "inside_a_vm.py"
TREES = ROOT / "tests" / "data" / "inside_a_vm"
PAGES = [ROOT / "docs" / "labs" / "inside-a-vm.md", ROOT / "docs" / "drafts" / "labs" / "inside-a-vm.md"]
EN_PAGE = ROOT / "docs" / "labs" / "inside-a-vm.en.md"  # once it is written
IN_CI = os.environ.get("CI") == "true"

sys.path.insert(0, str(LABS))
import inside_a_vm  # noqa: E402  (the lab lives in docs/labs, as the reader downloads it)


def run_lab(*args: str, cwd: Path = ROOT, script: Path = LAB, preexec=None, language: str = "ja") -> subprocess.CompletedProcess:
    """Run the lab the way its page tells the reader to: python3 inside_a_vm.py ..."""
    result = subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                            text=True, timeout=60, preexec_fn=preexec, env=environment(language))
    if language == "en":
        assert_english(result.stdout + result.stderr)
    return result


SUMMARY_TITLE = {"ja": "=== まとめ ===", "en": "=== Summary ==="}


def summary_of(stdout: str, lang: str = "ja") -> dict[str, str]:
    block = stdout.split(SUMMARY_TITLE[lang], 1)[1]
    return dict(line.split(": ", 1) for line in block.strip().splitlines())


def kvm_usable() -> bool:
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and inside_a_vm.platform.machine() == "x86_64"


@pytest.fixture
def kvm():
    """The real /dev/kvm; its absence is the one reason a lab test may skip."""
    if not kvm_usable():
        pytest.skip("/dev/kvm がないか開けません: このマシンでは外側の部分（VMを作る）を実行できません")


# ---- Recorded trees ------------------------------------------------------------------

EXPECTED = {
    "kvm-guest": {
        "このマシン": "KVMの仮想マシン（根拠: CPUIDの署名）",
        "コンテナ": "見つからない",
        "クロックソース": "kvm-clock",
        "virtioデバイス": "3個（ネットワーク、ブロック、メモリバルーン）",
        "KVM": "使えない（外側のハイパーバイザーがvmxもsvmも見せていない）",
    },
    "xen-hvm-guest": {
        "このマシン": "Xenの仮想マシン（根拠: CPUIDの署名）",
        "コンテナ": "見つからない",
        "クロックソース": "xen",
        "virtioデバイス": "0個",
    },
    "hyperv-guest": {
        "このマシン": "Hyper-Vの仮想マシン（根拠: CPUIDの署名）",
        "クロックソース": "hyperv_clocksource_tsc_page",
    },
    "vmware-guest": {
        "このマシン": "VMwareの仮想マシン（根拠: CPUIDの署名）",
        "クロックソース": "tsc",
    },
    "container": {
        "このマシン": "物理マシン（仮想化の印なし）（根拠: CPUIDのビット31が0）",
        "コンテナ": "podmanのコンテナの中（根拠: /run/.containerenv）",
        "KVM": "CPUは対応しているが、このコンテナに/dev/kvmが渡されていない",
    },
    "bare-metal": {
        "このマシン": "物理マシン（仮想化の印なし）（根拠: CPUIDのビット31が0）",
        "コンテナ": "見つからない",
        "KVM": "使える（Intel VT-x）",
    },
}


EXPECTED_EN = {
    "kvm-guest": {
        "This machine": "a virtual machine on KVM (evidence: the CPUID signature)",
        "Container": "none found",
        "Clock source": "kvm-clock",
        "virtio devices": "3 (network, block, memory balloon)",
        "KVM": "not usable (the hypervisor outside shows neither vmx nor svm)",
    },
    "xen-hvm-guest": {
        "This machine": "a virtual machine on Xen (evidence: the CPUID signature)",
        "Container": "none found",
        "Clock source": "xen",
        "virtio devices": "0",
    },
    "hyperv-guest": {
        "This machine": "a virtual machine on Hyper-V (evidence: the CPUID signature)",
        "Clock source": "hyperv_clocksource_tsc_page",
    },
    "vmware-guest": {
        "This machine": "a virtual machine on VMware (evidence: the CPUID signature)",
        "Clock source": "tsc",
    },
    "container": {
        "This machine": "a physical machine (no sign of virtualization) (evidence: CPUID bit 31 is 0)",
        "Container": "inside a podman container (evidence: /run/.containerenv)",
        "KVM": "the CPU supports it, but /dev/kvm is not passed into this container",
    },
    "bare-metal": {
        "This machine": "a physical machine (no sign of virtualization) (evidence: CPUID bit 31 is 0)",
        "Container": "none found",
        "KVM": "usable (Intel VT-x)",
    },
}
RECORDED = {  # lines every recorded tree prints, and the start of its summary's "outside"
    "ja": ("調べるもの: 記録した木 {tree}", "  直近: 記録した木なので測りません", "外側", "飛ばしました（--rootで記録した木を読んでいる"),
    "en": ("Examining: the recorded tree {tree}", "  recent: not measured in a recorded tree", "Outside",
           "skipped (--root reads a recorded tree"),
}


def test_every_tree_is_documented():
    kinds = sorted(p.name for p in TREES.iterdir() if p.is_dir())
    assert kinds == sorted(EXPECTED)
    index = (TREES / "README.md").read_text(encoding="utf-8")
    for kind in kinds:
        assert f"`{kind}/`" in index, f"{kind} is missing from tests/data/inside_a_vm/README.md"
        readme = (TREES / kind / "README.md").read_text(encoding="utf-8")
        assert "Expected verdict" in readme and len(readme) > 300


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_recorded_tree_verdict(kind, lang):
    result = run_lab("--root", str(TREES / kind), language=lang)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    examining, recent, outside, skipped = RECORDED[lang]
    assert examining.format(tree=TREES / kind) in result.stdout.splitlines()
    summary = summary_of(result.stdout, lang)
    for label, value in {"ja": EXPECTED, "en": EXPECTED_EN}[lang][kind].items():
        assert summary[label] == value, (kind, label)
    assert summary[outside].startswith(skipped)
    assert recent in result.stdout.splitlines()


TREE_DETAILS = {
    ("kvm-guest", "ja"): [
        '  leaf 0x40000000: 署名 "KVMKVMKVM"（KVM）、最大leaf 0x40000001',
        "  leaf 0x40000001 EAX=0x01007efb（KVMの機能のビット）:",
        "  KVMのsteal timeの機能（CPUID 0x40000001 EAXのビット5）: あり",
        "  virtio0: ID  1 ネットワーク（net）、ドライバー virtio_net、PCI 0000:00:02.0",
        "クロックソース: kvm-clock（KVMの準仮想化クロック（kvmclock））",
    ],
    ("kvm-guest", "en"): [
        '  leaf 0x40000000: signature "KVMKVMKVM" (KVM), highest leaf 0x40000001',
        "  leaf 0x40000001 EAX=0x01007efb (KVM's feature bits):",
        "  KVM's steal time feature (CPUID 0x40000001 EAX bit 5): yes",
        "  virtio0: ID  1 network (net), driver virtio_net, PCI 0000:00:02.0",
        "Clock source: kvm-clock (KVM's paravirtual clock (kvmclock))",
    ],
    ("xen-hvm-guest", "ja"): [
        "  leaf 0x40000001 EAX=0x00040011: Xen 4.17",
        "/sys/hypervisor/type: xen",
        "Xenの準仮想化デバイス（/sys/bus/xen/devices）: 2個: vbd-51712、vif-0",
    ],
    ("xen-hvm-guest", "en"): [
        "  leaf 0x40000001 EAX=0x00040011: Xen 4.17",
        "/sys/hypervisor/type: xen",
        "Xen paravirtual devices (/sys/bus/xen/devices): 2: vbd-51712, vif-0",
    ],
}


@pytest.mark.parametrize("kind", ["kvm-guest", "xen-hvm-guest"])
def test_tree_details(kind, language):
    out = run_lab("--root", str(TREES / kind), language=language).stdout
    lines = out.splitlines()
    for line in TREE_DETAILS[kind, language]:
        assert line in lines, line
    if kind == "kvm-guest":
        assert "steal time(5)" in out and "kvmclock(3)" in out
        assert {"ja": 'DMI（/sys/class/dmi/id）: product_name="Standard PC (Q35 + ICH9, 2009)"',
                "en": 'DMI (/sys/class/dmi/id): product_name="Standard PC (Q35 + ICH9, 2009)"'}[language] in out


def test_hyperv_enlightened_kvm_is_kvm(language):
    """QEMU/KVM with Hyper-V enlightenments puts "Microsoft Hv" at 0x40000000 and KVM's own
    leaves at 0x40000100 (systemd's virt.c: "QEMU sets the CPUID string to hyperv's, in case
    it provides hyperv enlightenments"). The program scans like Linux's hypervisor_cpuid_base."""
    cpuid = inside_a_vm.RecordedCpuid(
        "0x1 0x0 0x0 0x0 0x80000000 0x0\n"
        "0x40000000 0x0 0x40000006 0x7263694d 0x666f736f 0x76482074\n"
        "0x40000100 0x0 0x40000101 0x4b4d564b 0x564b4d56 0x0000004d\n"
    )
    leaves = inside_a_vm.hypervisor_leaves(cpuid)
    assert [sig for _, _, sig in leaves] == ["Microsoft Hv", "KVMKVMKVM"]
    assert inside_a_vm.judge_vm({"hv_bit": 1, "signatures": ["Microsoft Hv", "KVMKVMKVM"]})[0] == {
        "ja": "KVMの仮想マシン", "en": "a virtual machine on KVM"}[language]


def test_missing_files_are_unknown_with_the_path(tmp_path, language):
    """An empty tree: every line says what it could not read, and the program still ends well."""
    result = run_lab("--root", str(tmp_path), "--no-outside", language=language)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    clock = "/sys/devices/system/clocksource/clocksource0/current_clocksource"
    if language == "ja":
        assert "CPUID: 記録がありません（/cpuid.txt）" in lines
        assert "/proc/cpuinfo: 不明（/proc/cpuinfo: ありません）" in lines
        assert "/proc/stat: 不明（/proc/stat: ありません）" in lines
        assert f"クロックソース: 不明（{clock}: ありません）" in lines
        assert summary_of(result.stdout)["このマシン"] == "不明（根拠: 調べられる手がかりがない）"
    else:
        assert "CPUID: not recorded (/cpuid.txt)" in lines
        assert "/proc/cpuinfo: unknown (/proc/cpuinfo: does not exist)" in lines
        assert "/proc/stat: unknown (/proc/stat: does not exist)" in lines
        assert f"Clock source: unknown ({clock}: does not exist)" in lines
        assert summary_of(result.stdout, "en")["This machine"] == "unknown (evidence: no clue to examine)"


def test_unreadable_file_is_unknown_with_the_reason(tmp_path, language):
    tree = tmp_path / "tree"
    shutil.copytree(TREES / "kvm-guest", tree, symlinks=True)
    (tree / "proc" / "stat").unlink()
    (tree / "proc" / "stat").mkdir()  # reading a directory fails with EISDIR, even as root
    result = run_lab("--root", str(tree), language=language)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert {"ja": "/proc/stat: 不明（/proc/stat: 読めません（Is a directory））",
            "en": "/proc/stat: unknown (/proc/stat: cannot be read (Is a directory))"}[language] in result.stdout
    assert summary_of(result.stdout, language)[{"ja": "steal time", "en": "Steal time"}[language]] == {
        "ja": "不明", "en": "unknown"}[language]


def test_missing_root_directory(tmp_path, language):
    result = run_lab("--root", str(tmp_path / "none"), language=language)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == {"ja": f"エラー: --rootのディレクトリ{tmp_path / 'none'}がありません。\n",
                             "en": f"error: the --root directory {tmp_path / 'none'} does not exist.\n"}[language]


def test_interrupted_and_unexpected_failures(monkeypatch, capsys, language):
    """Ctrl-C ends with 130; a failure nobody planned for gets one line and its place, no traceback."""

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(inside_a_vm, "report", interrupted)
    assert inside_a_vm.main([]) == 130
    assert capsys.readouterr().err == {"ja": "中断しました。\n", "en": "Interrupted.\n"}[language]

    def broken(*args):
        raise ValueError("boom")

    monkeypatch.setattr(inside_a_vm, "report", broken)
    assert inside_a_vm.main([]) == 1
    err = capsys.readouterr().err
    if language == "ja":
        assert re.fullmatch(r"エラー: 想定していない失敗です: ValueError: boom\n  場所: test_lab_inside_a_vm\.py \d+行目\n", err)
    else:
        assert re.fullmatch(r"error: an unexpected failure: ValueError: boom\n  at: test_lab_inside_a_vm\.py line \d+\n", err)


# ---- This machine ----------------------------------------------------------------------

SECTIONS = {
    "ja": [
        "=== 内側から(1): ハイパーバイザーの上か ===",
        "=== 内側から(2): コンテナの中か ===",
        "=== 内側から(3): 時計 ===",
        "=== 内側から(4): steal time ===",
        "=== 内側から(5): virtioデバイス ===",
        "=== 内側から(6): このマシンでKVMを動かせるか ===",
        "=== 外側から: このプロセスが作った小さなVM ===",
        "=== まとめ ===",
    ],
    "en": [
        "=== Inside (1): on a hypervisor? ===",
        "=== Inside (2): in a container? ===",
        "=== Inside (3): the clock ===",
        "=== Inside (4): steal time ===",
        "=== Inside (5): virtio devices ===",
        "=== Inside (6): can this machine run KVM? ===",
        "=== Outside: a small VM made by this process ===",
        "=== Summary ===",
    ],
}
SUMMARY_LABELS = {
    "ja": ["このマシン", "コンテナ", "クロックソース", "steal time", "virtioデバイス", "KVM", "外側"],
    "en": ["This machine", "Container", "Clock source", "Steal time", "virtio devices", "KVM", "Outside"],
}


def cpuinfo_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


@pytest.fixture(scope="module", params=LANGUAGES)
def real_run(request):
    """One run on this machine per language, as the page says (with a 0.2 s sample): (language, stdout)."""
    result = run_lab("--sample", "0.2", language=request.param)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return request.param, result.stdout


REAL_RUN = {  # the steal time summary, a VM's verdict, the virtio count, the outside part done or skipped
    "ja": (r"起動から\d+\.\d\d%、直近0\.2秒 \d+\.\d%", "仮想マシン", "{count}個",
           "VMを作り、ホストから見た姿を表示しました", "飛ばしました（"),
    "en": (r"\d+\.\d\d% since boot, last 0\.2 s \d+\.\d%", "virtual machine", "{count}",
           "made a VM and showed how it looks from the host", "skipped ("),
}


def test_real_run_has_the_reports_structure(real_run):
    lang, out = real_run
    steal, vm, virtio_count, done, skipped = REAL_RUN[lang]
    this_machine, _, clocksource, steal_time, virtio_devices, _, outside_ = SUMMARY_LABELS[lang]
    assert [line for line in out.splitlines() if line.startswith("=== ")] == SECTIONS[lang]
    summary = summary_of(out, lang)
    assert list(summary) == SUMMARY_LABELS[lang]
    assert re.fullmatch(steal, summary[steal_time])
    if "hypervisor" in cpuinfo_flags():
        assert vm in summary[this_machine]
    current = Path("/sys/devices/system/clocksource/clocksource0/current_clocksource")
    if current.exists():
        assert summary[clocksource] == current.read_text().strip()
    virtio = Path("/sys/bus/virtio/devices")
    count = len(os.listdir(virtio)) if virtio.exists() else 0
    assert re.match(re.escape(virtio_count.format(count=count)) + r"($|（| \()", summary[virtio_devices])
    if kvm_usable():
        assert summary[outside_] == done
    else:
        assert summary[outside_].startswith(skipped)


def test_cpuid_agrees_with_proc_cpuinfo():
    """The machine code really runs CPUID: the vendor string and the hypervisor bit are what
    the kernel reports in /proc/cpuinfo (on x86-64; elsewhere the program must refuse)."""
    if inside_a_vm.platform.machine() != "x86_64":
        with pytest.raises(inside_a_vm.CpuidUnavailable):
            inside_a_vm.Cpuid()
        return
    cpuid = inside_a_vm.Cpuid()
    try:
        _, ebx, ecx, edx = cpuid(0)
        vendor = b"".join(r.to_bytes(4, "little") for r in (ebx, edx, ecx)).decode()
        hv_bit = cpuid(1)[2] >> 31 & 1
    finally:
        cpuid.close()
    text = Path("/proc/cpuinfo").read_text()
    assert f"vendor_id\t: {vendor}" in text
    assert hv_bit == ("hypervisor" in cpuinfo_flags())


def tool_missing(what: str):
    """Skip locally, fail in CI: .ci/run installs binutils."""
    if IN_CI:
        pytest.fail(f"{what} is missing in CI (.ci/run must install it)")
    pytest.skip(f"{what} is missing")


def test_cpuid_listing_assembles_to_the_loaded_bytes(tmp_path):
    if shutil.which("as") is None or shutil.which("objcopy") is None:
        tool_missing("GNU as/objcopy (Debian package binutils)")
    source = "\n".join(line.split(";")[0] for line in inside_a_vm.CPUID_ASM.splitlines())
    (tmp_path / "cpuid.s").write_text(".intel_syntax noprefix\n.code64\n" + source + "\n")
    subprocess.run(["as", "--64", "-o", str(tmp_path / "cpuid.o"), str(tmp_path / "cpuid.s")], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "cpuid.o"), str(tmp_path / "cpuid.bin")],
                   check=True)
    assert (tmp_path / "cpuid.bin").read_bytes() == inside_a_vm.CPUID_CODE


PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1  # <linux/prctl.h>, Linux 6.3+


def forbid_exec_gain():
    """preexec_fn: from now on this process may not make memory executable (mprotect fails
    with EACCES), as under systemd's MemoryDenyWriteExecute=."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        os._exit(77)  # the kernel has no PR_SET_MDWE: the parent falls back below


FALLBACK = {
    "ja": ("CPUID: 実行できません。書いた機械語を実行できるようにできませんでした（mprotect: Permission denied）",
           "/proc/cpuinfoとDMIで判断します", "（根拠: /proc/cpuinfoのhypervisor）", "DMIの"),
    "en": ("CPUID: cannot execute it: could not make the machine code executable (mprotect: Permission denied)",
           "Judging from /proc/cpuinfo and DMI", "(evidence: hypervisor in /proc/cpuinfo)", "DMI "),
}


def test_forbidden_executable_memory_falls_back(monkeypatch, capsys, language):
    if inside_a_vm.platform.machine() != "x86_64":
        pytest.fail("the CPUID part is only for x86-64; see test_other_architecture_falls_back")
    result = run_lab("--sample", "0", "--no-outside", preexec=forbid_exec_gain, language=language)
    if result.returncode == 77:  # an older kernel: make mprotect fail the way it would
        monkeypatch.setattr(inside_a_vm, "_libc", _FailingMprotect(inside_a_vm._libc))
        assert inside_a_vm.main(["--sample", "0", "--no-outside"]) == 0
        out = capsys.readouterr().out
    else:
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        out = result.stdout
    cannot, judging, evidence, dmi = FALLBACK[language]
    assert cannot in out and judging in out
    if "hypervisor" in cpuinfo_flags():
        verdict = summary_of(out, language)[SUMMARY_LABELS[language][0]]
        assert verdict.endswith(evidence) or dmi in verdict


class _FailingMprotect:
    def __init__(self, libc):
        self._libc = libc

    def mprotect(self, *args):
        ctypes.set_errno(13)  # EACCES
        return -1

    def __getattr__(self, name):
        return getattr(self._libc, name)


def test_other_architecture_falls_back(monkeypatch, capsys, language):
    monkeypatch.setattr(inside_a_vm.platform, "machine", lambda: "aarch64")
    assert inside_a_vm.main(["--sample", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    if language == "ja":
        assert "CPUID: 実行できません。このマシン（aarch64）はx86-64ではないので、CPUID命令がありません。" \
               "/proc/cpuinfoとDMIで判断します" in lines
        assert "外側: 飛ばしました（kvm_hello.pyのゲストはx86の機械語です（このマシンはaarch64））" in lines
    else:
        assert "CPUID: cannot execute it: this machine (aarch64) is not x86-64, so it has no CPUID instruction. " \
               "Judging from /proc/cpuinfo and DMI" in lines
        assert "Outside: skipped (kvm_hello.py's guest is x86 machine code (this machine is aarch64))" in lines


# ---- Outside: the VM seen from the host ------------------------------------------------------


OUTSIDE = {
    "ja": ("ゲストの出力: Hello from the guest!（KVM_EXIT_IO 22回、KVM_EXIT_HLT 1回）",
           r"メインのスレッド", r"vCPUのスレッド（KVM_RUNを呼んだ）",
           r"rw-p （名前のない匿名メモリ）  <- ゲストの物理メモリ GPA 0x1000〜0x1fff$",
           r"rw-s anon_inode:kvm-vcpu:0  <- vCPUのfdをmmapしたkvm_run（\d+バイト）$"),
    "en": ("Guest output: Hello from the guest! (KVM_EXIT_IO 22 times, KVM_EXIT_HLT 1 time)",
           r"the main thread", r"the vCPU thread \(it called KVM_RUN\)",
           r"rw-p \(anonymous memory, no name\)  <- the guest's physical memory, GPA 0x1000-0x1fff$",
           r"rw-s anon_inode:kvm-vcpu:0  <- kvm_run, mmap'ed from the vCPU's fd \(\d+ bytes\)$"),
}


def test_outside_shows_fds_threads_and_guest_memory(kvm, real_run):
    lang, out = real_run
    part = out.split(SECTIONS[lang][-2], 1)[1].split(SECTIONS[lang][-1], 1)[0]
    guest, main_thread, vcpu_thread, memory, run = OUTSIDE[lang]
    assert guest in part.splitlines()
    assert re.search(r"^\s+\d+ -> /dev/kvm$", part, re.M)
    assert re.search(r"^\s+\d+ -> anon_inode:kvm-vm$", part, re.M)
    assert re.search(r"^\s+\d+ -> anon_inode:kvm-vcpu:0$", part, re.M)
    assert re.search(rf"^\s+\d+ python3?\S*\s+{main_thread}$", part, re.M)
    assert re.search(rf"^\s+\d+ CPU 0/KVM\s+{vcpu_thread}$", part, re.M)
    assert re.search(memory, part, re.M)
    assert re.search(run, part, re.M)


def test_outside_closes_every_fd_mapping_and_thread(kvm, capsys):
    import kvm_hello

    mappings = []
    original_init = kvm_hello.Mapping.__init__

    def tracking_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        mappings.append(self)

    fds, threads = set(os.listdir("/proc/self/fd")), threading.active_count()
    kvm_hello.Mapping.__init__ = tracking_init
    try:
        assert inside_a_vm.main(["--sample", "0"]) == 0
    finally:
        kvm_hello.Mapping.__init__ = original_init
    out = capsys.readouterr().out
    assert "anon_inode:kvm-vm" in out
    assert set(os.listdir("/proc/self/fd")) == fds, "a file descriptor was left open"
    assert mappings and all(m.addr is None for m in mappings), "a Mapping was not closed"
    assert threading.active_count() == threads, "the vCPU thread was left running"


def test_outside_without_kvm_hello_says_what_to_do(kvm, tmp_path, language):
    shutil.copy(LAB, tmp_path / LAB.name)
    result = run_lab("--sample", "0", cwd=tmp_path, script=tmp_path / LAB.name, language=language)
    assert result.returncode == 0 and "Traceback" not in result.stderr
    said, fix = {"ja": ("飛ばしました: kvm_hello.pyが見つかりません", "このファイルと同じディレクトリに保存してください"),
                 "en": ("Skipped: kvm_hello.py not found", "Save it in the same directory as this file.")}[language]
    assert said in result.stdout and fix in result.stdout


@pytest.mark.parametrize("failure", ["kvm-error", "os-error"])
def test_outside_failures_are_reported(kvm, monkeypatch, language, failure):
    """A failure while making the VM is reported in the outside part and its summary line."""
    import io

    import kvm_hello

    def broken(module, out):
        if failure == "kvm-error":
            raise kvm_hello.KvmError("the test's own failure")
        raise OSError(25, "Inappropriate ioctl for device")

    monkeypatch.setattr(inside_a_vm, "outside", broken)
    facts, out = inside_a_vm.Facts(), io.StringIO()
    assert inside_a_vm.check_outside(inside_a_vm.Machine(None), True, False, facts, out) == 1
    assert facts.outside == {"ja": "失敗しました", "en": "failed"}[language]
    printed = out.getvalue()
    if failure == "kvm-error":
        assert {"ja": "エラー: the test's own failure", "en": "error: the test's own failure"}[language] in printed
    elif language == "ja":
        assert re.search(r"エラー: システムコールが失敗しました: \[Errno 25\] .*\n  場所: test_lab_inside_a_vm\.py \d+行目: ",
                         printed)
    else:
        assert re.search(r"error: a system call failed: \[Errno 25\] .*\n  at: test_lab_inside_a_vm\.py line \d+: ",
                         printed)


def test_outside_imports_kvm_hello_instead_of_copying_it():
    source = LAB.read_text(encoding="utf-8")
    assert "import kvm_hello" in source
    for name in ("KvmRun", "KVM_CREATE_VM =", "GUEST_CODE = bytes"):
        assert name not in source, f"{name} belongs to kvm_hello.py, not to a copy"


def test_importing_the_lab_does_nothing():
    result = subprocess.run([sys.executable, "-c", "import inside_a_vm"], cwd=LABS, capture_output=True, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# ---- The page ---------------------------------------------------------------------------


def page(lang: str = "ja") -> str:
    for path in PAGES if lang == "ja" else [EN_PAGE]:
        if path.exists():
            return path.read_text(encoding="utf-8")
    pytest.fail(f"no lab page at {[str(p) for p in PAGES]}")


PAGE_LANGUAGES = ["ja"] + (["en"] if EN_PAGE.exists() else [])  # English once the page is written


@pytest.mark.parametrize("lang", PAGE_LANGUAGES)
def test_page_includes_the_program_and_links_to_it(lang):
    text = page(lang)
    assert "[inside_a_vm.py](inside_a_vm.py)" in text or "inside_a_vm.py](../../labs/inside_a_vm.py)" in text
    source = LAB.read_text(encoding="utf-8")
    sections = re.findall(r'--8<-- "inside_a_vm.py:([a-z-]+)"', text)
    assert len(sections) >= 5, "the page shows the program from the file, not a copy"
    for name in sections:
        assert f"# --8<-- [start:{name}]" in source and f"# --8<-- [end:{name}]" in source


@pytest.mark.parametrize("lang", PAGE_LANGUAGES)
def test_page_output_has_the_programs_current_lines(lang):
    """The page shows one real run; its section and summary lines must be the program's, in the page's language."""
    text = page(lang)
    block = text.split("{#this-machine-output}", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    lines = block.splitlines()
    assert [line for line in lines if line.startswith("=== ")] == SECTIONS[lang]
    assert list(summary_of(block, lang)) == SUMMARY_LABELS[lang]
