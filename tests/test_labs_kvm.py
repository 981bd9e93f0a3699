"""The KVM labs (docs/labs/kvm_hello.py, docs/labs/kvm_exits.py) as a reader runs them.

- Each program runs as ``python3 docs/labs/<file>.py`` and prints what its page shows, in
  both of the reader's languages (LANG=ja_JP.UTF-8 and LANG=C.UTF-8): kvm_hello exactly
  ``docs/labs/kvm_hello.txt`` / ``kvm_hello.en.txt`` (the pages include those files),
  kvm_exits its fixed lines and plausible timings (one run per language).
- Bad environments (missing device, permission denied, another architecture, wrong API
  version, a failing ioctl, an exit the program does not expect, KVM_EXIT_FAIL_ENTRY/
  INTERNAL_ERROR, an access outside a mapping, Ctrl-C) end with a message in the reader's
  language and a non-zero exit code, never a traceback, and every fd and mapping is closed.
- The kvm-exits pages (Japanese, and English once written) show the lines that are the
  same on every machine as the program prints them in that language; the counts are the
  same on a kernel without KVM_GET_STATS_FD (before 5.14), which a test simulates by
  making that ioctl fail as an old kernel does (ENOTTY).
- kvm-hello's claims about CS: left at its reset value (base 0xffff0000) with RIP = 0x1000,
  the guest fetches from 0xffff1000; a test maps the code there and runs it.
- The ctypes structures, ioctl numbers and exit reasons match <linux/kvm.h> (compiled
  with gcc), and the guest code listings assemble (GNU as) to the bytes the programs load.

The only allowed skip is a machine without /dev/kvm. Tests that need the kernel headers,
gcc or GNU as skip without them locally but fail in CI (CI=true), where .ci/run installs them.
"""

from __future__ import annotations

import ctypes
import fcntl
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.support.lab_language import LANGUAGES, assert_english, environment, language, text  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
LABS = ROOT / "docs" / "labs"
HELLO = LABS / "kvm_hello.py"
EXITS = LABS / "kvm_exits.py"
EXPECTED_HELLO = {"ja": LABS / "kvm_hello.txt", "en": LABS / "kvm_hello.en.txt"}
PAGES = {"ja": "kvm-{}.md", "en": "kvm-{}.en.md"}  # the English pages once they are written
KVM_DEVICE = "/dev/kvm"
IN_CI = os.environ.get("CI") == "true"
KVM_CHECK_EXTENSION = 0xAE03  # _IO(KVMIO, 0x03); compared with <linux/kvm.h> below
KVM_CAP_BINARY_STATS_FD = 203  # the capability behind KVM_GET_STATS_FD (api.rst §4.133)

sys.path.insert(0, str(LABS))
import kvm_exits  # noqa: E402  (the lab files live in docs/labs, as the reader downloads them)
import kvm_hello  # noqa: E402


@pytest.fixture
def kvm():
    """The real /dev/kvm; its absence is the one reason a lab test may skip."""
    if not os.path.exists(KVM_DEVICE):
        pytest.skip(f"{KVM_DEVICE} がありません: このマシンではKVMの実習を実行できません")
    return KVM_DEVICE


def tool_missing(what: str):
    """Skip locally, fail in CI: .ci/run installs linux-libc-dev, gcc and binutils."""
    if IN_CI:
        pytest.fail(f"{what} is missing in CI (.ci/run must install it)")
    pytest.skip(f"{what} is missing")


def run_lab(path: Path, *args: str, language: str, python: str = sys.executable, **kwargs) -> subprocess.CompletedProcess:
    """Run a lab the way its page tells the reader to: python3 docs/labs/<file>.py."""
    result = subprocess.run(
        [python, str(path.relative_to(ROOT)), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=environment(language), **kwargs,
    )
    if language == "en":
        assert_english(result.stdout + result.stderr)
    return result


def existing_pages(name: str) -> list[tuple[str, Path]]:
    """(language, page) for the lab page ``kvm-<name>`` in each language it exists in."""
    return [(lang, LABS / pattern.format(name)) for lang, pattern in PAGES.items()
            if (LABS / pattern.format(name)).exists()]


def python_for(how: dict) -> str:
    """A Python 3.11+ that the child user can execute (root's pyenv is not readable by nobody)."""
    candidates = [sys.executable, shutil.which("python3"), "/usr/bin/python3"]
    for candidate in dict.fromkeys(c for c in candidates if c):
        try:
            check = subprocess.run([candidate, "-c", "import sys; assert sys.version_info >= (3, 11)"],
                                   capture_output=True, **how)
        except OSError:  # the child user may not reach this interpreter
            continue
        if check.returncode == 0:
            return candidate
    pytest.fail(f"no Python 3.11+ that {how.get('user', 'this user')} can run among {candidates}")


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def maps_count() -> int:
    return len(Path("/proc/self/maps").read_text().splitlines())


# ---- Running the programs ----------------------------------------------------------


def test_hello_prints_the_expected_output(kvm, language):
    result = run_lab(HELLO, language=language)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == EXPECTED_HELLO[language].read_text(encoding="utf-8")


# What the guest does (22 OUTs, one HLT), as each expected-output file says it.
HELLO_COUNTS = {"ja": "KVM_EXIT_IO: {n}回、KVM_EXIT_HLT: 1回", "en": "KVM_EXIT_IO: {n} times, KVM_EXIT_HLT: 1 time"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_hello_guest_message_and_exit_counts(lang):
    """The expected-output files themselves say what the guest does; no KVM needed."""
    expected = EXPECTED_HELLO[lang].read_text(encoding="utf-8")
    assert kvm_hello.MESSAGE.decode() in expected
    assert HELLO_COUNTS[lang].format(n=len(kvm_hello.MESSAGE)) in expected
    assert f"RIP = 0x{kvm_hello.GUEST_ADDR + len(kvm_hello.GUEST_CODE):x}" in expected
    ja, en = (EXPECTED_HELLO[other].read_text(encoding="utf-8").splitlines() for other in LANGUAGES)
    assert len(ja) == len(en) == 7 and ja[4] == en[4] == kvm_hello.MESSAGE.decode().strip()


TIMING = re.compile(r"^\s*(\d+\.\d\d) µs  (.+)$")

# The first lines of kvm_exits, the same on every machine (the pages show them).
EXITS_MMIO = {
    "ja": [
        "--- MMIO: GPA 0x8000のデバイス ---",
        "KVM_EXIT_MMIO 書き込み GPA 0x8000 len=2 data=41",
        "KVM_EXIT_MMIO 読み出し GPA 0x8000 len=2 → 42を返す",
        "KVM_EXIT_IO   OUT ポート0x10: ゲストが読んだ値 = 42",
    ],
    "en": [
        "--- MMIO: the device at GPA 0x8000 ---",
        "KVM_EXIT_MMIO write GPA 0x8000 len=2 data=41",
        "KVM_EXIT_MMIO read  GPA 0x8000 len=2 → returns 42",
        "KVM_EXIT_IO   OUT port 0x10: the value the guest read = 42",
    ],
}
EXITS_CPUIDS = {"ja": "ゲストが実行したCPUID: {n}回（どれもKVM_RUNからは戻っていません）",
                "en": "CPUIDs the guest executed: {n} (none of them returned from KVM_RUN)"}


def timing_labels(lang: str) -> list[str]:
    """The labels of the four timing lines, in the order the page explains them."""
    labels = [text(kvm_exits, lang, key, batch=kvm_exits.BATCH) for key in kvm_exits.LABELS.values()]
    return [*labels, text(kvm_exits, lang, "per-cpuid", batch=kvm_exits.BATCH)]


@pytest.fixture(scope="module", params=LANGUAGES)
def exits_run(request):
    """One run of kvm_exits per language, as the page says (it takes a few seconds)."""
    import time

    if not os.path.exists(KVM_DEVICE):
        pytest.skip(f"{KVM_DEVICE} がありません: このマシンではKVMの実習を実行できません")
    start = time.monotonic()
    result = run_lab(EXITS, language=request.param)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return request.param, result.stdout, elapsed


def test_exits_output_and_timings(exits_run):
    lang, stdout, _ = exits_run
    lines = stdout.splitlines()
    # The device model's lines are exact.
    assert lines[:4] == EXITS_MMIO[lang]
    # The exit table: 1 report + 3 kinds x (warm-up + rounds) + 3 counting batches.
    batches = 3 * (kvm_exits.WARMUP + kvm_exits.ROUNDS) + 3
    assert f"{1 + batches:10}  KVM_EXIT_IO" in lines
    assert f"{2:10}  KVM_EXIT_MMIO" in lines
    assert f"{1:10}  KVM_EXIT_HLT" in lines
    cpuids = (kvm_exits.WARMUP + kvm_exits.ROUNDS + 1) * kvm_exits.BATCH
    assert EXITS_CPUIDS[lang].format(n=cpuids) in lines
    assert text(kvm_exits, lang, "times-title", rounds=kvm_exits.ROUNDS) in lines
    assert text(kvm_exits, lang, "counts-title") in lines
    # Timings: four lines in µs, in the order the page explains them, and plausible.
    timings = [TIMING.match(line) for line in lines]
    timings = [(float(m.group(1)), m.group(2)) for m in timings if m]
    assert [label for _, label in timings] == timing_labels(lang)
    out, loop, cpuid, per_cpuid = (value for value, _ in timings)
    assert 0.05 < out < 10_000, "one exit to userspace: between 50 ns and 10 ms"
    # On VT-x/AMD-V the loop alone runs natively and may cost about as much as one OUT,
    # but a thousand CPUIDs always cost more than either.
    assert loop > 0 and cpuid > max(out, loop), "a batch of 1000 CPUIDs costs more than one OUT"
    assert 0 < per_cpuid < out * 10
    assert per_cpuid == pytest.approx((cpuid - loop) / kvm_exits.BATCH, abs=0.01)


def test_exits_counts_are_right_without_kernel_statistics(kvm, capsys, monkeypatch, language):
    """A kernel before 5.14 has no KVM_GET_STATS_FD: the ioctl fails with ENOTTY. The program
    says so, and still prints the exits and CPUIDs that really ran (it once printed 211000
    CPUIDs where 210000 ran, because it skipped the counting batches but not their count)."""
    monkeypatch.setattr(kvm_exits, "ROUNDS", 6)  # a short run: the counts are what matters here
    monkeypatch.setattr(kvm_exits, "WARMUP", 2)
    monkeypatch.setattr(kvm_exits, "KVM_GET_STATS_FD", kvm_hello._IO(0xCF))  # no such ioctl
    ran = []  # every batch the guest really ran: (n, cpuid)
    original = kvm_exits.time_batch

    def spy(loop, memory, n, cpuid):
        ran.append((n, cpuid))
        return original(loop, memory, n, cpuid)

    monkeypatch.setattr(kvm_exits, "time_batch", spy)
    code, out, err = run_main(kvm_exits, [], capsys)
    assert code == 0, err
    lines = out.splitlines()
    start = lines.index(kvm_exits.say("stats-title"))
    assert lines[start + 1] == {"ja": "（このカーネルでは統計を読めません）",
                                "en": "(this kernel has no statistics to read)"}[language]
    cpuids_ran = sum(n for n, cpuid in ran if cpuid)
    assert EXITS_CPUIDS[language].format(n=cpuids_ran) in lines
    assert f"{1 + len(ran):10}  KVM_EXIT_IO" in lines  # the report, then one OUT per batch
    # The same counts as on a kernel with the statistics: the page shows them as host-independent.
    assert cpuids_ran == (2 + 6 + 1) * kvm_exits.BATCH and len(ran) == 3 * (2 + 6) + 3


def kernel_has_binary_stats() -> bool:
    fd = os.open(KVM_DEVICE, os.O_RDWR | os.O_CLOEXEC)
    try:
        return fcntl.ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) > 0
    finally:
        os.close(fd)


def test_exits_kernel_statistics_table(exits_run):
    lang, stdout, _ = exits_run
    lines = stdout.splitlines()
    start = lines.index(text(kvm_exits, lang, "stats-title"))
    if not kernel_has_binary_stats():  # Linux before 5.14: the program says so and goes on
        assert lines[start + 1] == text(kvm_exits, lang, "no-stats")
        return
    # The kernel has the statistics, so the program must show them (not hide a broken reader).
    header = lines[start + 1].split()
    assert header == [*kvm_exits.STAT_NAMES, text(kvm_exits, lang, "batch-column")], "x86 KVM has all four statistics"
    rows = lines[start + 2 : start + 5]
    table = {}
    for row, kind, label in zip(rows, kvm_exits.LABELS, timing_labels(lang)):
        assert row.endswith(label)
        numbers = [int(n) for n in row[: -len(label)].split()]
        assert len(numbers) == len(header) - 1 and all(n >= 0 for n in numbers)
        table[kind] = dict(zip(kvm_exits.STAT_NAMES, numbers))
    # Every guest CPUID reaches KVM somehow: as a hardware exit (VT-x, AMD-V) or through the
    # instruction emulator (this machine's PVM). Either way the kernel counted it, so wrong
    # offsets in the stats reader would show up here.
    cpuid = table["cpuid"]
    assert cpuid["exits"] + cpuid["insn_emulation"] >= kvm_exits.BATCH


def test_exits_runs_in_a_few_seconds(exits_run):
    _, _, elapsed = exits_run
    assert elapsed < 15


def test_importing_the_labs_does_nothing():
    for module in ("kvm_hello", "kvm_exits"):
        result = subprocess.run(
            [sys.executable, "-c", f"import {module}"], cwd=LABS, capture_output=True, text=True
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


# ---- Bad environments ----------------------------------------------------------------


MISSING = {"ja": "エラー: {path}がありません。KVMが使えない環境です。",
           "en": "error: {path} does not exist: KVM is not available here."}


@pytest.mark.parametrize("lab", [HELLO, EXITS], ids=["hello", "exits"])
def test_missing_device(lab, tmp_path, language):
    missing = tmp_path / "no-such-kvm"
    result = run_lab(lab, "--device", str(missing), language=language)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert MISSING[language].format(path=missing) in result.stderr
    assert "VT-x" in result.stderr and "AMD-V" in result.stderr and "modprobe kvm-intel" in result.stderr
    assert result.stdout == ""


NO_KVM_HELLO = {"ja": "エラー: kvm_hello.pyが見つかりません。", "en": "error: kvm_hello.py not found."}


def test_exits_without_kvm_hello_says_what_to_do(tmp_path, language):
    shutil.copy(EXITS, tmp_path / EXITS.name)
    result = subprocess.run([sys.executable, EXITS.name], cwd=tmp_path, capture_output=True, text=True,
                            env=environment(language))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(NO_KVM_HELLO[language])


def unreadable_device(tmp_path: Path) -> tuple[str, dict]:
    """A device path this test's child cannot open, and how to run the child.

    Root ignores file modes, so as root the child runs as ``nobody`` without the kvm
    group against the real /dev/kvm (when its mode keeps others out), else against a
    mode-000 file; an unprivileged user just gets the mode-000 file.
    """
    if os.geteuid() == 0:
        as_nobody = {"user": "nobody", "group": "nogroup", "extra_groups": []}
        if os.path.exists(KVM_DEVICE) and not os.stat(KVM_DEVICE).st_mode & (stat.S_IROTH | stat.S_IWOTH):
            return KVM_DEVICE, as_nobody
        tmp_path.chmod(0o755)
        device = tmp_path / "kvm"
        device.touch(mode=0o000)
        return str(device), as_nobody
    device = tmp_path / "kvm"
    device.touch(mode=0o000)
    return str(device), {}


@pytest.fixture
def download_dir():
    """The two lab files in a fresh directory anyone can read, as a reader saves them.

    The child may run as ``nobody``, who cannot traverse root's directories (the CI
    clone's location, pytest's 0700 temporary root), so the copy sits directly in /tmp.
    """
    directory = Path(tempfile.mkdtemp(prefix="kvm-lab-"))
    directory.chmod(0o755)
    for lab in (HELLO, EXITS):
        shutil.copy(lab, directory / lab.name)
        (directory / lab.name).chmod(0o644)
    yield directory
    shutil.rmtree(directory)


NO_PERMISSION = {"ja": ("エラー: {path}を開く権限がありません", "kvmグループ"),
                 "en": ("error: you do not have permission to open {path}", "the kvm group")}


@pytest.mark.parametrize("lab", [HELLO, EXITS], ids=["hello", "exits"])
def test_permission_denied(lab, tmp_path, download_dir, language):
    device, how = unreadable_device(tmp_path)
    result = subprocess.run(
        [python_for(how), lab.name, "--device", device],
        cwd=download_dir, capture_output=True, text=True, timeout=60, env=environment(language), **how,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    first, group = NO_PERMISSION[language]
    assert first.format(path=device) in result.stderr
    assert group in result.stderr and "usermod -aG kvm" in result.stderr


def run_main(module, argv, capsys):
    """Run module.main(argv) in this process; return (code, stdout, stderr) and check nothing leaked."""
    mappings = []  # every kvm_hello.Mapping made during the run (both labs use that class)
    original_init = kvm_hello.Mapping.__init__

    def tracking_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        mappings.append(self)

    kvm_hello.Mapping.__init__ = tracking_init
    fds, maps = open_fds(), maps_count()
    try:
        code = module.main(argv)
    finally:
        kvm_hello.Mapping.__init__ = original_init
    captured = capsys.readouterr()
    assert open_fds() == fds, "a file descriptor was left open"
    # An anonymous mapping left behind can merge with a neighbour in /proc/self/maps, so
    # also check that every Mapping was closed (munmap'ed).
    assert all(m.addr is None for m in mappings), "a Mapping was not closed"
    assert maps_count() <= maps, "a mapping was left behind"
    assert "Traceback" not in captured.err
    return code, captured.out, captured.err


def test_success_paths_close_every_fd(kvm, capsys, monkeypatch, language):
    code, out, _ = run_main(kvm_hello, [], capsys)
    assert code == 0 and out == EXPECTED_HELLO[language].read_text(encoding="utf-8")
    monkeypatch.setattr(kvm_exits, "ROUNDS", 6)  # a short run: the fds are what matters here
    monkeypatch.setattr(kvm_exits, "WARMUP", 2)
    code, out, _ = run_main(kvm_exits, [], capsys)
    assert code == 0 and f"{1:10}  KVM_EXIT_HLT" in out.splitlines()


def test_missing_device_closes_every_fd(tmp_path, capsys, language):
    code, _, err = run_main(kvm_hello, ["--device", str(tmp_path / "none")], capsys)
    assert code == 1 and MISSING[language].format(path=tmp_path / "none") in err


def test_other_architecture_is_refused(capsys, monkeypatch, language):
    monkeypatch.setattr(kvm_hello.platform, "machine", lambda: "aarch64")
    code, out, err = run_main(kvm_hello, [], capsys)
    assert code == 1 and out == ""
    assert {"ja": "エラー: このプログラムはx86-64のLinux用です（このマシンはaarch64）。",
            "en": "error: this program is for Linux on x86-64 (this machine is aarch64)."}[language] in err


def test_api_version_mismatch(kvm, capsys, monkeypatch, language):
    monkeypatch.setattr(kvm_hello, "KVM_API_VERSION", 13)
    code, out, err = run_main(kvm_hello, [], capsys)
    assert code == 1 and out == ""
    assert {"ja": "エラー: KVM APIのバージョンが12です。このプログラムは13を前提にしています。",
            "en": "error: the KVM API version is 12; this program expects 13."}[language] in err
    assert "2.6.22" in err


UNEXPECTED_EXIT = {"ja": "想定外のexitです: {name}（{number}）", "en": "unexpected exit: {name} ({number})"}


def test_unexpected_exit_names_the_reason_and_shows_registers(kvm, capsys, monkeypatch, language):
    monkeypatch.setattr(kvm_hello, "GUEST_CODE", bytes([0xE6, 0x42, 0xF4]))  # out 0x42, al; hlt
    code, _, err = run_main(kvm_hello, [], capsys)
    assert code == 1
    assert {"ja": "エラー: ", "en": "error: "}[language] + UNEXPECTED_EXIT[language].format(
        name="KVM_EXIT_IO", number=2) in err
    assert "OUT port=0x42 size=1 count=1" in err
    assert re.search(r"rip=0x[0-9a-f]+ rflags=0x[0-9a-f]+", err)


def test_failed_ioctl_names_the_line_and_closes_every_fd(kvm, capsys, monkeypatch, language):
    """An OSError in the middle (here KVM_CREATE_VCPU with a wrong number) is reported
    with the line that failed, after the VM's fd and memory are already open."""
    monkeypatch.setattr(kvm_hello, "KVM_CREATE_VCPU", kvm_hello._IO(0x3F))  # no such ioctl
    code, _, err = run_main(kvm_hello, [], capsys)
    assert code == 1
    if language == "ja":
        assert "エラー: システムコールが失敗しました: [Errno 25]" in err  # ENOTTY
        assert re.search(r"場所: kvm_hello\.py \d+行目: self\.fd = fcntl\.ioctl\(vm_fd, KVM_CREATE_VCPU", err)
    else:
        assert "error: a system call failed: [Errno 25]" in err
        assert re.search(r"at: kvm_hello\.py line \d+: self\.fd = fcntl\.ioctl\(vm_fd, KVM_CREATE_VCPU", err)


def test_interrupted_run_says_so(capsys, language):
    """Ctrl-C: a short message and 130, as a shell reports SIGINT."""

    def interrupted():
        raise KeyboardInterrupt

    assert kvm_hello.report_errors(interrupted) == 130
    assert capsys.readouterr().err == {"ja": "中断しました。\n", "en": "Interrupted.\n"}[language]


def test_access_outside_a_mapping_is_refused(language):
    """kvm-hello's exercise 1: a message too long for the guest's page stops with this error."""
    mapping = kvm_hello.Mapping(4096)
    try:
        with pytest.raises(kvm_hello.KvmError) as caught:
            mapping.write(0x100, bytes(3841))
    finally:
        mapping.close()
    assert str(caught.value) == {"ja": "4096バイトの領域の外です: オフセット256から3841バイト",
                                 "en": "outside the 4096-byte area: 3841 bytes from offset 256"}[language]


def test_unexpected_mmio_in_exits(kvm, capsys, monkeypatch, language):
    """kvm_exits' device model refuses an address where it has no register."""
    code_bytes = bytes([0xA1, 0x00, 0x90, 0xF4])  # mov ax, word ptr [0x9000]; hlt
    monkeypatch.setattr(kvm_exits, "GUEST_CODE", code_bytes)
    code, _, err = run_main(kvm_exits, [], capsys)
    assert code == 1
    assert {"ja": "エラー: GPA 0x9000（2バイト）にはデバイスがありません",
            "en": "error: there is no device at GPA 0x9000 (2 bytes)"}[language] in err


def test_cs_left_at_reset_fetches_from_0xffff1000(kvm, capsys):
    """kvm-hello's quiz and text: if setup_real_mode set only RIP = 0x1000 and left CS at its
    reset value (selector 0xf000, base 0xffff0000), the first fetch is CS.base + IP =
    0xffff1000, not 0xfffffff0. Map the guest code there (and nothing at 0x1000) and run it."""
    with ExitStack() as stack:
        kvm_fd = kvm_hello.open_kvm(kvm)
        stack.callback(os.close, kvm_fd)
        vm_fd = kvm_hello.create_vm(stack, kvm_fd)
        data = kvm_hello.add_memory(stack, vm_fd, slot=0, guest_phys_addr=0x1000, size=0x1000)
        data.write(kvm_hello.MESSAGE_ADDR - 0x1000, kvm_hello.MESSAGE + b"\0")  # DS:SI = 0000:1100
        high = kvm_hello.add_memory(stack, vm_fd, slot=1, guest_phys_addr=0xFFFF1000, size=0x1000)
        high.write(0, kvm_hello.GUEST_CODE)
        vcpu = kvm_hello.Vcpu(stack, kvm_fd, vm_fd)
        sregs = vcpu.get_sregs()
        assert (sregs.cs.selector, sregs.cs.base) == (0xF000, 0xFFFF0000), "the reset value"
        assert vcpu.get_regs().rip == 0xFFF0
        for seg in (sregs.ds, sregs.es, sregs.ss):  # setup_real_mode without its CS line
            seg.base, seg.selector = 0, 0
        vcpu.set_sregs(sregs)
        vcpu.set_regs(kvm_hello.KvmRegs(rip=0x1000, rflags=0x2))
        out = io.StringIO()
        counts = kvm_hello.run_guest(vcpu, out)
        assert out.getvalue() == kvm_hello.MESSAGE.decode()
        assert counts == {"KVM_EXIT_IO": len(kvm_hello.MESSAGE), "KVM_EXIT_HLT": 1}
        assert vcpu.get_regs().rip == len(kvm_hello.GUEST_CODE) + 0x1000  # IP, under CS.base 0xffff0000
        assert vcpu.get_sregs().cs.base == 0xFFFF0000


def test_out_exit_rip_follows_the_pages_rule(kvm):
    """kvm-hello's exercise 4: after KVM_EXIT_IO for an OUT, RIP is either at the OUT (VT-x/AMD-V:
    KVM completes the instruction on the next KVM_RUN) or past it (KVM's instruction emulator,
    as on PVM). Either way the next KVM_RUN leaves RIP past the OUT."""
    with ExitStack() as stack:
        kvm_fd = kvm_hello.open_kvm(kvm)
        stack.callback(os.close, kvm_fd)
        vm_fd = kvm_hello.create_vm(stack, kvm_fd)
        memory = kvm_hello.add_memory(stack, vm_fd, slot=0, guest_phys_addr=0x1000, size=0x1000)
        memory.write(0, bytes([0xE6, 0x42, 0xF4]))  # out 0x42, al; hlt
        vcpu = kvm_hello.Vcpu(stack, kvm_fd, vm_fd)
        kvm_hello.setup_real_mode(vcpu, entry=0x1000)
        assert vcpu.run_once() == kvm_hello.KVM_EXIT_IO
        assert vcpu.get_regs().rip in (0x1000, 0x1002)
        assert vcpu.run_once() == kvm_hello.KVM_EXIT_HLT
        assert vcpu.get_regs().rip == 0x1003  # past the HLT on every host


class FakeVcpu:
    """Just enough of kvm_hello.Vcpu for describe_exit."""

    def __init__(self, reason: int, registers: bool = True):
        self.run = kvm_hello.KvmRun()
        self.run.exit_reason = reason
        self.registers = registers

    def get_regs(self):
        if not self.registers:
            raise OSError(9, "Bad file descriptor")
        return kvm_hello.KvmRegs(rip=0x1234, rflags=0x2)


def test_fail_entry_and_internal_error_are_described(language):
    vcpu = FakeVcpu(kvm_hello.KVM_EXIT_FAIL_ENTRY)
    vcpu.run.fail_entry.hardware_entry_failure_reason = 0x80000021
    vcpu.run.fail_entry.cpu = 3
    described = kvm_hello.describe_exit(vcpu)
    assert described.startswith(UNEXPECTED_EXIT[language].format(name="KVM_EXIT_FAIL_ENTRY", number=9))
    assert {"ja": "  ゲストに入れませんでした: ", "en": "  could not enter the guest: "}[language] + \
        "hardware_entry_failure_reason=0x80000021 cpu=3" in described
    assert "rip=0x1234" in described

    vcpu = FakeVcpu(kvm_hello.KVM_EXIT_INTERNAL_ERROR)
    vcpu.run.internal.suberror = 1
    vcpu.run.internal.ndata = 2
    vcpu.run.internal.data[0], vcpu.run.internal.data[1] = 0xA, 0xB
    described = kvm_hello.describe_exit(vcpu)
    assert described.startswith(UNEXPECTED_EXIT[language].format(name="KVM_EXIT_INTERNAL_ERROR", number=17))
    assert {"ja": "  KVMの内部エラー: ", "en": "  KVM internal error: "}[language] + \
        "suberror=1 ndata=2 data=[0xa 0xb]" in described


def test_mmio_unknown_and_unreadable_registers_are_described(language):
    vcpu = FakeVcpu(kvm_hello.KVM_EXIT_MMIO)
    vcpu.run.mmio.phys_addr, vcpu.run.mmio.len, vcpu.run.mmio.is_write = 0x9000, 2, 1
    assert {"ja": "  MMIOの書き込み phys_addr=0x9000 len=2", "en": "  MMIO write phys_addr=0x9000 len=2"}[language] \
        in kvm_hello.describe_exit(vcpu).splitlines()
    vcpu.run.mmio.is_write = 0
    assert {"ja": "  MMIOの読み出し phys_addr=0x9000 len=2", "en": "  MMIO read phys_addr=0x9000 len=2"}[language] \
        in kvm_hello.describe_exit(vcpu).splitlines()

    vcpu = FakeVcpu(kvm_hello.KVM_EXIT_UNKNOWN, registers=False)
    vcpu.run.hardware_exit_reason = 0x30
    lines = kvm_hello.describe_exit(vcpu).splitlines()
    assert lines == [UNEXPECTED_EXIT[language].format(name="KVM_EXIT_UNKNOWN", number=0),
                     "  hardware_exit_reason=0x30",
                     {"ja": "  （レジスターを読めませんでした: Bad file descriptor）",
                      "en": "  (could not read the registers: Bad file descriptor)"}[language]]


def test_unknown_exit_reason_number_is_named():
    assert kvm_hello.exit_reason_name(5) == "KVM_EXIT_HLT"
    assert kvm_hello.exit_reason_name(999) == "KVM_EXIT_?(999)"


# ---- Against the kernel headers and the assembler -------------------------------------

HEADER = Path("/usr/include/linux/kvm.h")

# (Python class, C type, {python field: C member designator}) — every field is compared.
STRUCTS = [
    (kvm_hello.KvmUserspaceMemoryRegion, "struct kvm_userspace_memory_region", {}),
    (kvm_hello.KvmRegs, "struct kvm_regs", {}),
    (kvm_hello.KvmSegment, "struct kvm_segment", {}),
    (kvm_hello.KvmDtable, "struct kvm_dtable", {}),
    (kvm_hello.KvmSregs, "struct kvm_sregs", {}),
    (kvm_hello.KvmRun, "struct kvm_run", {"exit": None}),
]
RUN_MEMBERS = {  # kvm_run union members the programs read, with their Python paths
    "hw.hardware_exit_reason": ("exit", "hardware_exit_reason"),
    "fail_entry.hardware_entry_failure_reason": ("exit", "fail_entry", "hardware_entry_failure_reason"),
    "fail_entry.cpu": ("exit", "fail_entry", "cpu"),
    "io.direction": ("exit", "io", "direction"),
    "io.size": ("exit", "io", "size"),
    "io.port": ("exit", "io", "port"),
    "io.count": ("exit", "io", "count"),
    "io.data_offset": ("exit", "io", "data_offset"),
    "mmio.phys_addr": ("exit", "mmio", "phys_addr"),
    "mmio.data": ("exit", "mmio", "data"),
    "mmio.len": ("exit", "mmio", "len"),
    "mmio.is_write": ("exit", "mmio", "is_write"),
    "internal.suberror": ("exit", "internal", "suberror"),
    "internal.ndata": ("exit", "internal", "ndata"),
    "internal.data": ("exit", "internal", "data"),
}


def python_offset(cls, path) -> int:
    offset = 0
    for name in path:
        field = getattr(cls, name)
        offset += field.offset
        cls = dict(cls._fields_)[name]
    return offset


def python_facts() -> dict[str, int]:
    """What the lab programs believe about <linux/kvm.h>, keyed like the C program's output."""
    facts = {}
    for cls, ctype, renames in STRUCTS:
        if renames is None:
            continue
        facts[f"sizeof({ctype})"] = ctypes.sizeof(cls)
        for name, _ in cls._fields_:
            if name in renames:
                continue
            facts[f"offsetof({ctype}, {name})"] = getattr(cls, name).offset
    for member, path in RUN_MEMBERS.items():
        facts[f"offsetof(struct kvm_run, {member})"] = python_offset(kvm_hello.KvmRun, path)
    facts["sizeof(struct kvm_stats_header)"] = 24  # struct.unpack("6I") in kvm_exits.VcpuStats
    facts["sizeof(struct kvm_stats_desc)"] = 16  # the name follows these 16 bytes
    facts["offsetof(struct kvm_stats_desc, offset)"] = 8  # "IhHII": flags, exponent, size, offset
    for name in ("KVM_GET_API_VERSION", "KVM_CREATE_VM", "KVM_GET_VCPU_MMAP_SIZE", "KVM_CREATE_VCPU", "KVM_SET_TSS_ADDR",
                 "KVM_SET_USER_MEMORY_REGION", "KVM_RUN", "KVM_GET_REGS", "KVM_SET_REGS",
                 "KVM_GET_SREGS", "KVM_SET_SREGS", "KVM_API_VERSION", "KVM_EXIT_IO_IN", "KVM_EXIT_IO_OUT"):
        facts[name] = getattr(kvm_hello, name)
    facts["KVM_GET_STATS_FD"] = kvm_exits.KVM_GET_STATS_FD
    facts["KVM_CHECK_EXTENSION"] = KVM_CHECK_EXTENSION  # this test's own constants
    facts["KVM_CAP_BINARY_STATS_FD"] = KVM_CAP_BINARY_STATS_FD
    for value, name in enumerate(kvm_hello.EXIT_REASON_NAMES):
        facts[f"KVM_EXIT_{name}"] = value
    for name in ("UNKNOWN", "IO", "HLT", "MMIO", "FAIL_ENTRY", "INTERNAL_ERROR"):
        assert getattr(kvm_hello, f"KVM_EXIT_{name}") == facts[f"KVM_EXIT_{name}"]
    return facts


@pytest.fixture(scope="module")
def header_facts(tmp_path_factory) -> dict[str, int]:
    """Compile a C program that prints every fact in python_facts() from the real headers."""
    if not HEADER.exists():
        tool_missing(f"{HEADER} (Debian package linux-libc-dev)")
    if shutil.which("gcc") is None:
        tool_missing("gcc")
    lines = [f'  printf("%s %llu\\n", "{key}", (unsigned long long)({key}));' for key in python_facts()]
    source = "#include <stdio.h>\n#include <stddef.h>\n#include <linux/kvm.h>\nint main(void) {\n"
    source += "\n".join(lines) + "\n  return 0;\n}\n"
    work = tmp_path_factory.mktemp("kvm-header")
    (work / "facts.c").write_text(source)
    build = subprocess.run(["gcc", "-o", str(work / "facts"), str(work / "facts.c")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    output = subprocess.run([str(work / "facts")], capture_output=True, text=True, check=True).stdout
    return {key: int(value) for key, value in (line.rsplit(" ", 1) for line in output.splitlines())}


def test_structures_and_ioctls_match_the_kernel_headers(header_facts):
    facts = python_facts()
    mismatches = {key: (value, header_facts[key]) for key, value in facts.items() if header_facts[key] != value}
    assert mismatches == {}, "Python value, <linux/kvm.h> value"
    assert header_facts["sizeof(struct kvm_run)"] == 2352
    assert header_facts["KVM_API_VERSION"] == 12


def assemble(listing: str, tmp_path: Path) -> bytes:
    """Assemble a lab's GUEST_ASM with GNU as (.code16, Intel syntax) into flat bytes."""
    if shutil.which("as") is None or shutil.which("objcopy") is None:
        tool_missing("GNU as/objcopy (Debian package binutils)")
    # The listing uses ';' for comments like NASM; GNU as would read ';' as a new statement.
    source = "\n".join(line.split(";")[0] for line in listing.splitlines())
    (tmp_path / "guest.s").write_text(".intel_syntax noprefix\n.code16\n" + source + "\n")
    subprocess.run(["as", "-o", str(tmp_path / "guest.o"), str(tmp_path / "guest.s")], check=True)
    subprocess.run(["objcopy", "-O", "binary", "-j", ".text", str(tmp_path / "guest.o"), str(tmp_path / "guest.bin")],
                   check=True)
    return (tmp_path / "guest.bin").read_bytes()


@pytest.mark.parametrize("module", [kvm_hello, kvm_exits], ids=["hello", "exits"])
def test_guest_listing_assembles_to_the_loaded_bytes(module, tmp_path):
    assert assemble(module.GUEST_ASM, tmp_path) == module.GUEST_CODE


# ---- The pages include the tested files ----------------------------------------------------


@pytest.mark.parametrize(
    "lang, page, program",
    [(lang, page, program) for name, program in (("hello", "kvm_hello.py"), ("exits", "kvm_exits.py"))
     for lang, page in existing_pages(name)],
)
def test_pages_include_the_program_and_link_to_it(lang, page, program):
    text = page.read_text(encoding="utf-8")
    assert re.search(rf"\]\([^)\s]*\b{re.escape(program)}\)", text), "the page offers the file for download"
    source = (LABS / program).read_text(encoding="utf-8")
    sections = re.findall(rf'--8<-- "{re.escape(program)}:([a-z-]+)"', text)
    assert sections, "the page shows the program from the file, not a copy"
    for section in sections:
        assert f"# --8<-- [start:{section}]" in source and f"# --8<-- [end:{section}]" in source
    if program == "kvm_hello.py":
        included = EXPECTED_HELLO[lang].name
        assert f'--8<-- "{included}"' in text, "the expected output comes from the tested file, in the page's language"


@pytest.mark.parametrize("lang, page", existing_pages("exits"))
def test_exits_page_shows_the_lines_that_never_change(lang, page):
    """The page says the MMIO lines and the exit table are the same on every machine; they
    must be what test_exits_output_and_timings expects from the program in the page's language."""
    block = page.read_text(encoding="utf-8").split("{#this-machine-output}", 1)[1]
    lines = block.split("```text\n", 1)[1].split("```", 1)[0].splitlines()
    assert lines[:4] == EXITS_MMIO[lang]
    batches = 3 * (kvm_exits.WARMUP + kvm_exits.ROUNDS) + 3
    cpuids = (kvm_exits.WARMUP + kvm_exits.ROUNDS + 1) * kvm_exits.BATCH
    for line in (f"{1 + batches:10}  KVM_EXIT_IO", f"{2:10}  KVM_EXIT_MMIO", f"{1:10}  KVM_EXIT_HLT",
                 EXITS_CPUIDS[lang].format(n=cpuids), text(kvm_exits, lang, "times-title", rounds=kvm_exits.ROUNDS)):
        assert line in lines
    labels = [m.group(2) for m in map(TIMING.match, lines) if m]
    assert labels == timing_labels(lang)
