#!/usr/bin/env python3
"""Lab 2: observing and timing VM exits.

Extends the VMM of Lab 1 (kvm_hello.py).

1. The guest reads and writes physical address 0x8000, where there is no memory.
   KVM hands each access to this program as KVM_EXIT_MMIO, and a tiny device
   model answers.
2. The guest repeats OUT (an exit that returns to user space) and CPUID (an exit
   handled inside the kernel), and the program times them.
3. The program counts the returns from KVM_RUN by exit reason and compares them
   with the exits the kernel counted (KVM_GET_STATS_FD).

    python3 kvm_exits.py                 # with kvm_hello.py in the same directory
    python3 kvm_exits.py --device PATH

"api.rst §x" in a comment is a section of Documentation/virt/kvm/api.rst.
The program prints in the reader's language (Japanese or English, from LC_ALL,
LC_MESSAGES or LANG; MESSAGES, after the imports).
"""

from __future__ import annotations

import fcntl
import os
import statistics
import struct
import signal
import sys
import time
from collections import Counter
from contextlib import ExitStack


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
    "description": {"ja": "ハンズオン2: VM exitを観察して測る。",
                    "en": "Lab 2: observing and timing VM exits."},
    "no-kvm-hello": {
        "ja": "エラー: kvm_hello.pyが見つかりません。ハンズオン1のkvm_hello.pyを、このファイルと同じディレクトリに置いてください。",
        "en": "error: kvm_hello.py not found. Save kvm_hello.py from Lab 1 in the same directory as this file.",
    },
    # AddOneRegister
    "no-device-at": {"ja": "GPA 0x{addr:x}（{len}バイト）にはデバイスがありません",
                     "en": "there is no device at GPA 0x{addr:x} ({len} bytes)"},
    "mmio-write": {"ja": "KVM_EXIT_MMIO 書き込み GPA 0x{addr:x} len={len} data={value}",
                   "en": "KVM_EXIT_MMIO write GPA 0x{addr:x} len={len} data={value}"},
    "mmio-read": {"ja": "KVM_EXIT_MMIO 読み出し GPA 0x{addr:x} len={len} → {value}を返す",
                  "en": "KVM_EXIT_MMIO read  GPA 0x{addr:x} len={len} → returns {value}"},
    # exits()
    "mmio-title": {"ja": "--- MMIO: GPA 0x{addr:x}のデバイス ---",
                   "en": "--- MMIO: the device at GPA 0x{addr:x} ---"},
    "guest-read": {"ja": "KVM_EXIT_IO   OUT ポート0x{port:x}: ゲストが読んだ値 = {value}",
                   "en": "KVM_EXIT_IO   OUT port 0x{port:x}: the value the guest read = {value}"},
    # report()
    "label-out": {"ja": "OUT 1回（ユーザー空間まで戻るexit）",
                  "en": "one OUT (an exit that returns to user space)"},
    "label-loop": {"ja": "ループ{batch}回 + OUT 1回（CPUIDなし）",
                   "en": "{batch} loop iterations + one OUT (no CPUID)"},
    "label-cpuid": {"ja": "ループ{batch}回 + OUT 1回（CPUIDあり）",
                    "en": "{batch} loop iterations + one OUT (with CPUID)"},
    "times-title": {"ja": "--- 時間（{rounds}回ずつ測った中央値） ---",
                    "en": "--- Time (the median of {rounds} runs of each) ---"},
    "per-cpuid": {"ja": "CPUID 1回あたり（2つの差 ÷ {batch}）",
                  "en": "per CPUID ((with CPUID − no CPUID) ÷ {batch})"},
    "counts-title": {"ja": "--- KVM_RUNから戻った理由ごとの回数（ユーザー空間から見えたexit） ---",
                     "en": "--- Returns from KVM_RUN by reason (the exits user space saw) ---"},
    "cpuids": {"ja": "ゲストが実行したCPUID: {count}回（どれもKVM_RUNからは戻っていません）",
               "en": "CPUIDs the guest executed: {count} (none of them returned from KVM_RUN)"},
    "stats-title": {"ja": "--- 1バッチの間にカーネルが数えた回数（KVM_GET_STATS_FD） ---",
                    "en": "--- What the kernel counted during one batch (KVM_GET_STATS_FD) ---"},
    "no-stats": {"ja": "（このカーネルでは統計を読めません）",
                 "en": "(this kernel has no statistics to read)"},
    "batch-column": {"ja": "バッチ",
                     "en": "batch"},
}


# --8<-- [start:import]
try:  # keep kvm_hello.py in the same directory
    from kvm_hello import (  # use Lab 1's definitions as they are
        KVM_EXIT_HLT,
        KVM_EXIT_IO,
        KVM_EXIT_IO_OUT,
        KVM_EXIT_MMIO,
        KvmError,
        KvmRunMmio,
        Vcpu,
        _IO,
        add_memory,
        check_api_version,
        create_vm,
        describe_exit,
        exit_reason_name,
        open_kvm,
        parse_args,
        report_errors,
        setup_real_mode,
    )
except ModuleNotFoundError:
    sys.exit(say("no-kvm-hello"))
# --8<-- [end:import]

# --8<-- [start:guest]
GUEST_ADDR = 0x1000  # the guest's memory (4 KiB, slot 0)
GUEST_MEM_SIZE = 0x1000
DEVICE_ADDR = 0x8000  # a physical address with no memory: accesses become KVM_EXIT_MMIO
PARAM_N = 0x1F00  # an argument the guest reads: iterations per batch (0: stop)
PARAM_MODE = 0x1F02  # an argument the guest reads: 1 runs CPUID in the loop
PORT_RESULT = 0x10  # the port where the guest reports the value it read through MMIO
PORT_BATCH_DONE = 0x11  # the port where the guest says "one batch done"

GUEST_ASM = """\
start:  mov word ptr [0x8000], 41   ; write 41 to the device's register → KVM_EXIT_MMIO
        mov ax, word ptr [0x8000]   ; read the register → KVM_EXIT_MMIO
        out 0x10, ax                ; report the value read → KVM_EXIT_IO
batch:  mov di, word ptr [0x1f00]   ; DI = the iteration count N (the VMM writes it)
        test di, di
        jz stop                     ; N = 0: done
        mov si, word ptr [0x1f02]   ; SI = the mode (1: run CPUID)
again:  test si, si
        jz skip
        xor eax, eax
        cpuid                       ; → an exit, handled inside the kernel
skip:   dec di
        jnz again
        out 0x11, al                ; the end of a batch → KVM_EXIT_IO
        jmp batch
stop:   hlt                         ; → KVM_EXIT_HLT
"""
GUEST_CODE = bytes([
    0xC7, 0x06, 0x00, 0x80, 0x29, 0x00,  # mov word ptr [0x8000], 41
    0xA1, 0x00, 0x80,                    # mov ax, word ptr [0x8000]
    0xE7, 0x10,                          # out 0x10, ax
    0x8B, 0x3E, 0x00, 0x1F,              # batch: mov di, word ptr [0x1f00]
    0x85, 0xFF,                          # test di, di
    0x74, 0x14,                          # jz stop
    0x8B, 0x36, 0x02, 0x1F,              # mov si, word ptr [0x1f02]
    0x85, 0xF6,                          # again: test si, si
    0x74, 0x05,                          # jz skip
    0x66, 0x31, 0xC0,                    # xor eax, eax
    0x0F, 0xA2,                          # cpuid
    0x4F,                                # skip: dec di
    0x75, 0xF4,                          # jnz again
    0xE6, 0x11,                          # out 0x11, al
    0xEB, 0xE4,                          # jmp batch
    0xF4,                                # stop: hlt
])
# --8<-- [end:guest]

# The measurement's settings, sized so that everything ends within a few seconds
BATCH = 1000  # loop iterations per batch
ROUNDS = 200  # how many times each batch is timed (we take the median)
WARMUP = 10  # the first few runs are dropped (until caches and the like settle)


# --8<-- [start:device]
class AddOneRegister:
    """A made-up device with a single 16-bit register at GPA 0x8000.

    It remembers the value written to it and answers a read with "that value + 1".
    A real VMM's device models (QEMU's serial port, virtio and so on) have the same shape.
    """

    def __init__(self, out):
        self.value = 0
        self.out = out

    def handle(self, mmio: KvmRunMmio) -> None:
        """Answer a KVM_EXIT_MMIO (api.rst §5, kvm_run.mmio)."""
        if mmio.phys_addr != DEVICE_ADDR or mmio.len != 2:
            raise KvmError(say("no-device-at", addr=mmio.phys_addr, len=mmio.len))
        if mmio.is_write:  # data holds the value the guest wrote (little-endian)
            self.value = int.from_bytes(bytes(mmio.data[: mmio.len]), "little")
            print(say("mmio-write", addr=mmio.phys_addr, len=mmio.len, value=self.value), file=self.out)
        else:  # a read: the value we put in data goes to the guest's register on the next KVM_RUN
            answer = (self.value + 1) & 0xFFFF
            mmio.data[: mmio.len] = answer.to_bytes(mmio.len, "little")
            print(say("mmio-read", addr=mmio.phys_addr, len=mmio.len, value=answer), file=self.out)
# --8<-- [end:device]


# --8<-- [start:dispatch]
class ExitLoop:
    """The heart of the VMM: call KVM_RUN, count why it returned, and dispatch."""

    def __init__(self, vcpu: Vcpu, device: AddOneRegister, out):
        self.vcpu, self.device, self.out = vcpu, device, out
        self.counts: Counter[str] = Counter()  # returns from KVM_RUN, by reason
        self.cpuids = 0  # the CPUIDs the guest was made to run (time_batch counts them)

    def run_until_port(self, port: int) -> None:
        """Run the guest until it OUTs to port; MMIO on the way goes to the device."""
        while True:
            reason = self.vcpu.run_once()
            self.counts[exit_reason_name(reason)] += 1
            run = self.vcpu.run
            if reason == KVM_EXIT_MMIO:
                self.device.handle(run.mmio)
            elif reason == KVM_EXIT_IO and run.io.direction == KVM_EXIT_IO_OUT and run.io.port == port:
                return
            else:
                raise KvmError(describe_exit(self.vcpu))

    def run_until_halt(self) -> None:
        reason = self.vcpu.run_once()
        self.counts[exit_reason_name(reason)] += 1
        if reason != KVM_EXIT_HLT:
            raise KvmError(describe_exit(self.vcpu))
# --8<-- [end:dispatch]


# --8<-- [start:stats]
KVM_GET_STATS_FD = _IO(0xCE)  # vCPU ioctl (api.rst §4.133; Linux 5.14 and later, ENOTTY before)
STAT_NAMES = ("exits", "io_exits", "mmio_exits", "insn_emulation")  # names of x86 statistics


class VcpuStats:
    """Read the statistics the kernel keeps for each vCPU (api.rst §4.133 KVM_GET_STATS_FD).

    The file starts with struct kvm_stats_header, then one struct kvm_stats_desc per
    statistic (its name and where its data is), and last the u64 values.
    """

    def __init__(self, stack: ExitStack, vcpu_fd: int):
        self.fd = fcntl.ioctl(vcpu_fd, KVM_GET_STATS_FD, 0)
        stack.callback(os.close, self.fd)
        # struct kvm_stats_header: flags, name_size, num_desc, id_offset, desc_offset, data_offset
        _, name_size, num_desc, _, desc_offset, self.data_offset = struct.unpack("6I", os.pread(self.fd, 24, 0))
        desc_size = 16 + name_size  # the name follows struct kvm_stats_desc (16 bytes)
        table = os.pread(self.fd, desc_size * num_desc, desc_offset)
        self.offsets = {}
        for i in range(num_desc):
            _flags, _exponent, _size, offset, _bucket = struct.unpack_from("IhHII", table, i * desc_size)
            name = table[i * desc_size + 16 : (i + 1) * desc_size].split(b"\0")[0].decode()
            self.offsets[name] = offset

    def read(self) -> dict[str, int]:
        """The current values of those STAT_NAMES this kernel has."""
        return {
            name: struct.unpack("Q", os.pread(self.fd, 8, self.data_offset + self.offsets[name]))[0]
            for name in STAT_NAMES
            if name in self.offsets
        }


def open_stats(stack: ExitStack, vcpu: Vcpu) -> VcpuStats | None:
    try:
        return VcpuStats(stack, vcpu.fd)
    except OSError:  # Linux 5.13 or older, for example: go on without statistics
        return None
# --8<-- [end:stats]


# --8<-- [start:measure]
def time_batch(loop: ExitLoop, memory, n: int, cpuid: bool) -> int:
    """Make the guest run one batch (n loop iterations + one OUT); return KVM_RUN's time in ns."""
    memory.write(PARAM_N - GUEST_ADDR, n.to_bytes(2, "little"))  # write the arguments into guest memory
    memory.write(PARAM_MODE - GUEST_ADDR, int(cpuid).to_bytes(2, "little"))
    if cpuid:
        loop.cpuids += n  # count what really runs (the count shown is never computed)
    start = time.perf_counter_ns()
    loop.run_until_port(PORT_BATCH_DONE)  # only the final OUT returns to user space
    return time.perf_counter_ns() - start


def measure(loop: ExitLoop, memory) -> dict[str, float]:
    """Run the three kinds of batch in turn, ROUNDS times each; return each one's median in µs."""
    samples: dict[str, list[int]] = {kind: [] for kind in BATCH_KINDS}
    for round_ in range(WARMUP + ROUNDS):
        for kind, (n, cpuid) in BATCH_KINDS.items():  # in turn, so drift over time hits all three alike
            elapsed = time_batch(loop, memory, n, cpuid)
            if round_ >= WARMUP:
                samples[kind].append(elapsed)
    return {kind: statistics.median(values) / 1000 for kind, values in samples.items()}


BATCH_KINDS = {"out": (1, False), "loop": (BATCH, False), "cpuid": (BATCH, True)}


def count_in_kernel(loop: ExitLoop, memory, stats: VcpuStats | None) -> dict[str, dict[str, int]] | None:
    """Run each kind of batch once; return how much the kernel's statistics grew meanwhile.

    On a kernel without statistics (stats is None) it runs the same batches and returns
    None, so the returns from KVM_RUN and the CPUID count are the same on every kernel.
    """
    deltas = {}
    for kind, (n, cpuid) in BATCH_KINDS.items():
        before = stats.read() if stats else {}
        time_batch(loop, memory, n, cpuid)
        after = stats.read() if stats else {}
        deltas[kind] = {name: after[name] - before[name] for name in after}
    return deltas if stats else None
# --8<-- [end:measure]


# --8<-- [start:report]
LABELS = {"out": "label-out", "loop": "label-loop", "cpuid": "label-cpuid"}  # kind: message


def report(medians, counts: Counter[str], cpuids: int, kernel_counts, out) -> None:
    per_cpuid = (medians["cpuid"] - medians["loop"]) / BATCH
    labels = {kind: say(key, batch=BATCH) for kind, key in LABELS.items()}
    print(say("times-title", rounds=ROUNDS), file=out)
    for kind, label in labels.items():
        print(f"{medians[kind]:10.2f} µs  {label}", file=out)
    print(f"{per_cpuid:10.2f} µs  {say('per-cpuid', batch=BATCH)}", file=out)

    print(say("counts-title"), file=out)
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{count:10}  {name}", file=out)
    print(say("cpuids", count=cpuids), file=out)

    print(say("stats-title"), file=out)
    if kernel_counts is None:
        print(say("no-stats"), file=out)
        return
    names = list(next(iter(kernel_counts.values())))
    print("".join(f"{name:>16}" for name in names) + "  " + say("batch-column"), file=out)
    for kind, label in labels.items():
        print("".join(f"{kernel_counts[kind][name]:>16}" for name in names) + f"  {label}", file=out)
# --8<-- [end:report]


# --8<-- [start:main]
def exits(device: str, out=None) -> None:
    out = out or sys.stdout
    with ExitStack() as stack:  # every fd and mmap is closed, even after a failure
        kvm_fd = open_kvm(device)
        stack.callback(os.close, kvm_fd)
        check_api_version(kvm_fd)
        vm_fd = create_vm(stack, kvm_fd)
        memory = add_memory(stack, vm_fd, slot=0, guest_phys_addr=GUEST_ADDR, size=GUEST_MEM_SIZE)
        memory.write(0, GUEST_CODE)
        vcpu = Vcpu(stack, kvm_fd, vm_fd)
        setup_real_mode(vcpu, entry=GUEST_ADDR)
        loop = ExitLoop(vcpu, AddOneRegister(out), out)

        print(say("mmio-title", addr=DEVICE_ADDR), file=out)
        loop.run_until_port(PORT_RESULT)
        value = int.from_bytes(vcpu.io_data(), "little")
        print(say("guest-read", port=PORT_RESULT, value=value), file=out)

        medians = measure(loop, memory)
        kernel_counts = count_in_kernel(loop, memory, open_stats(stack, vcpu))
        memory.write(PARAM_N - GUEST_ADDR, (0).to_bytes(2, "little"))  # N = 0: the guest stops at HLT
        loop.run_until_halt()
        report(medians, loop.counts, loop.cpuids, kernel_counts, out)
# --8<-- [end:main]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, say("description"))
    return report_errors(lambda: exits(args.device))


if __name__ == "__main__":
    # Piped into head or less: end quietly, as other command-line tools do.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
