#!/usr/bin/env python3
"""ハンズオン2: VM exitを観察して測る。

ハンズオン1（kvm_hello.py）のVMMを広げます。

1. ゲストが、メモリのない物理アドレス0x8000を読み書きします。KVMはそれを
   KVM_EXIT_MMIOとしてこのプログラムに渡し、小さなデバイスのモデルが答えます。
2. ゲストが、OUT（ユーザー空間に戻るexit）とCPUID（カーネルの中で処理される
   exit）を繰り返し、その時間を測ります。
3. KVM_RUNから戻った理由（exit reason）ごとの回数を表にし、カーネルの中で数えた
   exitの回数（KVM_GET_STATS_FD）と比べます。

    python3 kvm_exits.py                 # kvm_hello.pyと同じディレクトリに置いて実行
    python3 kvm_exits.py --device PATH

コメントの「api.rst §x」はDocumentation/virt/kvm/api.rstの節の番号です。
"""

from __future__ import annotations

import fcntl
import os
import statistics
import struct
import sys
import time
from collections import Counter
from contextlib import ExitStack

# --8<-- [start:import]
try:  # kvm_hello.pyを同じディレクトリに置いておく
    from kvm_hello import (  # ハンズオン1の定義をそのまま使う
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
    sys.exit("エラー: kvm_hello.pyが見つかりません。ハンズオン1のkvm_hello.pyを、このファイルと同じディレクトリに置いてください。")
# --8<-- [end:import]

# --8<-- [start:guest]
GUEST_ADDR = 0x1000  # ゲストのメモリ（4 KiB、スロット0）
GUEST_MEM_SIZE = 0x1000
DEVICE_ADDR = 0x8000  # メモリのない物理アドレス。ここへのアクセスがKVM_EXIT_MMIOになる
PARAM_N = 0x1F00  # ゲストが読む引数: 1バッチの繰り返し回数（0なら停止）
PARAM_MODE = 0x1F02  # ゲストが読む引数: 1ならループの中でCPUIDを実行する
PORT_RESULT = 0x10  # ゲストがMMIOで読んだ値を報告するポート
PORT_BATCH_DONE = 0x11  # ゲストが「1バッチ終わった」と知らせるポート

GUEST_ASM = """\
start:  mov word ptr [0x8000], 41   ; デバイスのレジスターに41を書く → KVM_EXIT_MMIO
        mov ax, word ptr [0x8000]   ; レジスターを読む → KVM_EXIT_MMIO
        out 0x10, ax                ; 読んだ値を報告 → KVM_EXIT_IO
batch:  mov di, word ptr [0x1f00]   ; DI = 繰り返しの回数N（VMMが書き込む）
        test di, di
        jz stop                     ; N = 0なら終わり
        mov si, word ptr [0x1f02]   ; SI = モード（1ならCPUIDを実行）
again:  test si, si
        jz skip
        xor eax, eax
        cpuid                       ; → exitするが、カーネルの中で処理される
skip:   dec di
        jnz again
        out 0x11, al                ; バッチの終わり → KVM_EXIT_IO
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

# 測定の設定。合計で数秒以内に終わる大きさにしてある
BATCH = 1000  # 1バッチのループの回数
ROUNDS = 200  # 測る回数（中央値をとる）
WARMUP = 10  # 最初の数回は捨てる（キャッシュなどが落ち着くまで）


# --8<-- [start:device]
class AddOneRegister:
    """GPA 0x8000にある16ビットのレジスター1本だけの、架空のデバイス。

    書き込まれた値を覚え、読まれると「覚えた値 + 1」を返します。本物のVMMの
    デバイスモデル（QEMUのシリアルポートやvirtioなど）も、形はこれと同じです。
    """

    def __init__(self, out):
        self.value = 0
        self.out = out

    def handle(self, mmio: KvmRunMmio) -> None:
        """KVM_EXIT_MMIOに答えます（api.rst §5、kvm_run.mmio）。"""
        if mmio.phys_addr != DEVICE_ADDR or mmio.len != 2:
            raise KvmError(f"GPA 0x{mmio.phys_addr:x}（{mmio.len}バイト）にはデバイスがありません")
        if mmio.is_write:  # ゲストの書いた値がdataに入っている（リトルエンディアン）
            self.value = int.from_bytes(bytes(mmio.data[: mmio.len]), "little")
            print(f"KVM_EXIT_MMIO 書き込み GPA 0x{mmio.phys_addr:x} len={mmio.len} data={self.value}", file=self.out)
        else:  # 読み出し: dataに値を置くと、次のKVM_RUNでゲストのレジスターに入る
            answer = (self.value + 1) & 0xFFFF
            mmio.data[: mmio.len] = answer.to_bytes(mmio.len, "little")
            print(f"KVM_EXIT_MMIO 読み出し GPA 0x{mmio.phys_addr:x} len={mmio.len} → {answer}を返す", file=self.out)
# --8<-- [end:device]


# --8<-- [start:dispatch]
class ExitLoop:
    """KVM_RUNを呼び、戻った理由ごとに数えて処理を振り分けるVMMの本体。"""

    def __init__(self, vcpu: Vcpu, device: AddOneRegister, out):
        self.vcpu, self.device, self.out = vcpu, device, out
        self.counts: Counter[str] = Counter()  # KVM_RUNから戻った理由ごとの回数
        self.cpuids = 0  # ゲストに実行させたCPUIDの回数（time_batchが数える）

    def run_until_port(self, port: int) -> None:
        """ゲストがportにOUTするまで動かします。途中のMMIOはデバイスに任せます。"""
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
KVM_GET_STATS_FD = _IO(0xCE)  # vCPU ioctl（api.rst §4.133、Linux 5.14以降。それより前はENOTTY）
STAT_NAMES = ("exits", "io_exits", "mmio_exits", "insn_emulation")  # x86の統計の名前


class VcpuStats:
    """カーネルがvCPUごとに数えている統計を読みます（api.rst §4.133 KVM_GET_STATS_FD）。

    ファイルの先頭にstruct kvm_stats_header、その後ろに統計ごとのstruct kvm_stats_desc
    （名前とデータの位置）、最後にu64の値の並びがあります。
    """

    def __init__(self, stack: ExitStack, vcpu_fd: int):
        self.fd = fcntl.ioctl(vcpu_fd, KVM_GET_STATS_FD, 0)
        stack.callback(os.close, self.fd)
        # struct kvm_stats_header: flags, name_size, num_desc, id_offset, desc_offset, data_offset
        _, name_size, num_desc, _, desc_offset, self.data_offset = struct.unpack("6I", os.pread(self.fd, 24, 0))
        desc_size = 16 + name_size  # struct kvm_stats_desc（16バイト）の直後に名前が続く
        table = os.pread(self.fd, desc_size * num_desc, desc_offset)
        self.offsets = {}
        for i in range(num_desc):
            _flags, _exponent, _size, offset, _bucket = struct.unpack_from("IhHII", table, i * desc_size)
            name = table[i * desc_size + 16 : (i + 1) * desc_size].split(b"\0")[0].decode()
            self.offsets[name] = offset

    def read(self) -> dict[str, int]:
        """STAT_NAMESのうち、このカーネルにある統計の今の値。"""
        return {
            name: struct.unpack("Q", os.pread(self.fd, 8, self.data_offset + self.offsets[name]))[0]
            for name in STAT_NAMES
            if name in self.offsets
        }


def open_stats(stack: ExitStack, vcpu: Vcpu) -> VcpuStats | None:
    try:
        return VcpuStats(stack, vcpu.fd)
    except OSError:  # Linux 5.13以前など。統計なしで続ける
        return None
# --8<-- [end:stats]


# --8<-- [start:measure]
def time_batch(loop: ExitLoop, memory, n: int, cpuid: bool) -> int:
    """ゲストに1バッチ（n回のループ + OUT 1回）を実行させ、KVM_RUNの時間をナノ秒で返します。"""
    memory.write(PARAM_N - GUEST_ADDR, n.to_bytes(2, "little"))  # ゲストのメモリに引数を書く
    memory.write(PARAM_MODE - GUEST_ADDR, int(cpuid).to_bytes(2, "little"))
    if cpuid:
        loop.cpuids += n  # 実際に実行させた回数を数える（表示する回数は計算で出さない）
    start = time.perf_counter_ns()
    loop.run_until_port(PORT_BATCH_DONE)  # 途中でユーザー空間に戻るのは最後のOUTだけ
    return time.perf_counter_ns() - start


def measure(loop: ExitLoop, memory) -> dict[str, float]:
    """3種類のバッチを交互にROUNDS回ずつ実行し、それぞれの中央値（マイクロ秒）を返します。"""
    samples: dict[str, list[int]] = {kind: [] for kind in BATCH_KINDS}
    for round_ in range(WARMUP + ROUNDS):
        for kind, (n, cpuid) in BATCH_KINDS.items():  # 交互に測り、時間による揺れを3つに均等に分ける
            elapsed = time_batch(loop, memory, n, cpuid)
            if round_ >= WARMUP:
                samples[kind].append(elapsed)
    return {kind: statistics.median(values) / 1000 for kind, values in samples.items()}


BATCH_KINDS = {"out": (1, False), "loop": (BATCH, False), "cpuid": (BATCH, True)}


def count_in_kernel(loop: ExitLoop, memory, stats: VcpuStats | None) -> dict[str, dict[str, int]] | None:
    """各種類のバッチを1回ずつ実行し、その間にカーネルの統計がいくつ増えたかを返します。

    統計を読めないカーネル（statsがNone）でも同じバッチを実行して、Noneを返します。
    そのため、KVM_RUNから戻った回数とCPUIDの回数は、どのカーネルでも同じになります。
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
LABELS = {
    "out": "OUT 1回（ユーザー空間まで戻るexit）",
    "loop": f"ループ{BATCH}回 + OUT 1回（CPUIDなし）",
    "cpuid": f"ループ{BATCH}回 + OUT 1回（CPUIDあり）",
}


def report(medians, counts: Counter[str], cpuids: int, kernel_counts, out) -> None:
    per_cpuid = (medians["cpuid"] - medians["loop"]) / BATCH
    print(f"--- 時間（{ROUNDS}回ずつ測った中央値） ---", file=out)
    for kind, label in LABELS.items():
        print(f"{medians[kind]:10.2f} µs  {label}", file=out)
    print(f"{per_cpuid:10.2f} µs  CPUID 1回あたり（2つの差 ÷ {BATCH}）", file=out)

    print("--- KVM_RUNから戻った理由ごとの回数（ユーザー空間から見えたexit） ---", file=out)
    for name, count in sorted(counts.items(), key=lambda item: -item[1]):
        print(f"{count:10}  {name}", file=out)
    print(f"ゲストが実行したCPUID: {cpuids}回（どれもKVM_RUNからは戻っていません）", file=out)

    print("--- 1バッチの間にカーネルが数えた回数（KVM_GET_STATS_FD） ---", file=out)
    if kernel_counts is None:
        print("（このカーネルでは統計を読めません）", file=out)
        return
    names = list(next(iter(kernel_counts.values())))
    print("".join(f"{name:>16}" for name in names) + "  バッチ", file=out)
    for kind, label in LABELS.items():
        print("".join(f"{kernel_counts[kind][name]:>16}" for name in names) + f"  {label}", file=out)
# --8<-- [end:report]


# --8<-- [start:main]
def exits(device: str, out=None) -> None:
    out = out or sys.stdout
    with ExitStack() as stack:  # 途中で失敗しても、fdとmmapはすべて閉じる
        kvm_fd = open_kvm(device)
        stack.callback(os.close, kvm_fd)
        check_api_version(kvm_fd)
        vm_fd = create_vm(stack, kvm_fd)
        memory = add_memory(stack, vm_fd, slot=0, guest_phys_addr=GUEST_ADDR, size=GUEST_MEM_SIZE)
        memory.write(0, GUEST_CODE)
        vcpu = Vcpu(stack, kvm_fd, vm_fd)
        setup_real_mode(vcpu, entry=GUEST_ADDR)
        loop = ExitLoop(vcpu, AddOneRegister(out), out)

        print(f"--- MMIO: GPA 0x{DEVICE_ADDR:x}のデバイス ---", file=out)
        loop.run_until_port(PORT_RESULT)
        value = int.from_bytes(vcpu.io_data(), "little")
        print(f"KVM_EXIT_IO   OUT ポート0x{PORT_RESULT:x}: ゲストが読んだ値 = {value}", file=out)

        medians = measure(loop, memory)
        kernel_counts = count_in_kernel(loop, memory, open_stats(stack, vcpu))
        memory.write(PARAM_N - GUEST_ADDR, (0).to_bytes(2, "little"))  # N = 0: ゲストはHLTで止まる
        loop.run_until_halt()
        report(medians, loop.counts, loop.cpuids, kernel_counts, out)
# --8<-- [end:main]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: exits(args.device))


if __name__ == "__main__":
    sys.exit(main())
