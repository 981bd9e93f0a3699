#!/usr/bin/env python3
"""ハンズオン1: PythonからKVM APIで最小のVMを動かす。

/dev/kvmを開き、VMとvCPUを作り、4 KiBのゲストメモリに置いた16バイトの
リアルモードのコードを動かします。ゲストはI/Oポートへ1バイトずつ文字を書き、
このプログラム（ユーザー空間のVMM）がKVM_EXIT_IOを受け取って表示します。
ゲストがHLTを実行したら終わりです。

    python3 kvm_hello.py                 # /dev/kvmを使う
    python3 kvm_hello.py --device PATH   # 別のデバイスファイルを試す

標準ライブラリだけで動きます（Python 3.11以上、x86-64のLinux）。
構造体とioctlの番号はLinuxの<linux/kvm.h>と同じもので、コメントの「api.rst §x」は
カーネルの文書 Documentation/virt/kvm/api.rst
（https://docs.kernel.org/virt/kvm/api.html）の節の番号です。番号はLinux 6.12の版で
確かめたもので、版によってずれることがあります。見つからなければioctlの名前で探してください。

importしても何もしません。ハンズオン2（kvm_exits.py）がここの定義を使います。
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import mmap
import os
import platform
import sys
import traceback
from contextlib import ExitStack

# --8<-- [start:structs]
# ---- <linux/kvm.h>の構造体（x86-64） ----------------------------------------
u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64


class KvmUserspaceMemoryRegion(ctypes.Structure):
    """struct kvm_userspace_memory_region（api.rst §4.35）。"""

    _fields_ = [
        ("slot", u32),  # スロットの番号
        ("flags", u32),  # 0 = 読み書きできる普通のメモリ
        ("guest_phys_addr", u64),  # ゲストから見た物理アドレス（GPA）
        ("memory_size", u64),  # バイト数
        ("userspace_addr", u64),  # そのメモリを置いた、このプロセスの仮想アドレス
    ]


class KvmRegs(ctypes.Structure):
    """struct kvm_regs: 汎用レジスター（api.rst §4.11 KVM_GET_REGS）。"""

    _fields_ = [
        (name, u64)
        for name in "rax rbx rcx rdx rsi rdi rsp rbp r8 r9 r10 r11 r12 r13 r14 r15 rip rflags".split()
    ]


class KvmSegment(ctypes.Structure):
    """struct kvm_segment: セグメントレジスター1本分（asm/kvm.h）。"""

    _fields_ = [
        ("base", u64), ("limit", u32), ("selector", u16), ("type", u8),
        ("present", u8), ("dpl", u8), ("db", u8), ("s", u8), ("l", u8),
        ("g", u8), ("avl", u8), ("unusable", u8), ("padding", u8),
    ]


class KvmDtable(ctypes.Structure):
    """struct kvm_dtable: GDTRとIDTR（asm/kvm.h）。"""

    _fields_ = [("base", u64), ("limit", u16), ("padding", u16 * 3)]


class KvmSregs(ctypes.Structure):
    """struct kvm_sregs: セグメントと制御レジスター（api.rst §4.13 KVM_GET_SREGS）。"""

    _fields_ = (
        [(name, KvmSegment) for name in ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")]
        + [("gdt", KvmDtable), ("idt", KvmDtable)]
        + [(name, u64) for name in ("cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base")]
        + [("interrupt_bitmap", u64 * 4)]  # (KVM_NR_INTERRUPTS + 63) / 64 = 4
    )


class KvmRunIo(ctypes.Structure):
    """kvm_run.io: KVM_EXIT_IOのときの中身（api.rst §5）。"""

    _fields_ = [
        ("direction", u8),  # KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1
        ("size", u8),  # 1回のアクセスのバイト数（1, 2, 4）
        ("port", u16),
        ("count", u32),  # 繰り返しの回数（REP OUTSBなど）
        ("data_offset", u64),  # データの位置（kvm_runの先頭からのバイト数）
    ]


class KvmRunMmio(ctypes.Structure):
    """kvm_run.mmio: KVM_EXIT_MMIOのときの中身（api.rst §5）。"""

    _fields_ = [("phys_addr", u64), ("data", u8 * 8), ("len", u32), ("is_write", u8)]


class KvmRunFailEntry(ctypes.Structure):
    """kvm_run.fail_entry: KVM_EXIT_FAIL_ENTRY（api.rst §5）。"""

    _fields_ = [("hardware_entry_failure_reason", u64), ("cpu", u32)]


class KvmRunInternal(ctypes.Structure):
    """kvm_run.internal: KVM_EXIT_INTERNAL_ERROR（api.rst §5）。"""

    _fields_ = [("suberror", u32), ("ndata", u32), ("data", u64 * 16)]


class KvmRunExit(ctypes.Union):
    """kvm_runの共用体。exit_reasonによって、どのメンバーが有効かが決まります。"""

    _fields_ = [
        ("hardware_exit_reason", u64),  # KVM_EXIT_UNKNOWN（C言語ではhw.hardware_exit_reason）
        ("fail_entry", KvmRunFailEntry),
        ("io", KvmRunIo),
        ("mmio", KvmRunMmio),
        ("internal", KvmRunInternal),
        ("padding", ctypes.c_char * 256),  # 共用体の大きさを256バイトに固定する
    ]


class KvmRun(ctypes.Structure):
    """struct kvm_run: vCPUのfdをmmapした共有領域の先頭（api.rst §5）。"""

    _anonymous_ = ("exit",)  # run.io、run.mmioのように直接書けるようにする
    _fields_ = [
        ("request_interrupt_window", u8),
        ("immediate_exit", u8),
        ("padding1", u8 * 6),
        ("exit_reason", u32),  # KVM_RUNから戻った理由
        ("ready_for_interrupt_injection", u8),
        ("if_flag", u8),
        ("flags", u16),
        ("cr8", u64),
        ("apic_base", u64),
        ("exit", KvmRunExit),
        ("kvm_valid_regs", u64),
        ("kvm_dirty_regs", u64),
        ("s", ctypes.c_char * 2048),  # SYNC_REGS_SIZE_BYTES
    ]
# --8<-- [end:structs]


# --8<-- [start:ioctls]
# ---- ioctlの番号（<linux/kvm.h>、<asm-generic/ioctl.h>） ---------------------
# ioctlの番号は「方向(2ビット)・引数の大きさ(14ビット)・種類(8ビット)・番号(8ビット)」を
# 1つの整数に詰めたものです。KVMの種類は0xAEです。
KVMIO = 0xAE
_IOC_WRITE, _IOC_READ = 1, 2  # 方向はユーザー空間から見た向き


def _ioc(direction: int, nr: int, size: int = 0) -> int:
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


def _IO(nr: int) -> int:  # 引数なし（整数を渡すだけ）
    return _ioc(0, nr)


def _IOR(nr: int, struct: type) -> int:  # カーネルが構造体に書き込む
    return _ioc(_IOC_READ, nr, ctypes.sizeof(struct))


def _IOW(nr: int, struct: type) -> int:  # カーネルが構造体を読む
    return _ioc(_IOC_WRITE, nr, ctypes.sizeof(struct))


KVM_GET_API_VERSION = _IO(0x00)  # system ioctl（api.rst §4.1）
KVM_CREATE_VM = _IO(0x01)  # system ioctl（§4.2）
KVM_GET_VCPU_MMAP_SIZE = _IO(0x04)  # system ioctl（§4.5）
KVM_CREATE_VCPU = _IO(0x41)  # VM ioctl（§4.7）
KVM_SET_TSS_ADDR = _IO(0x47)  # VM ioctl（§4.36）
KVM_SET_USER_MEMORY_REGION = _IOW(0x46, KvmUserspaceMemoryRegion)  # VM ioctl（§4.35）
KVM_RUN = _IO(0x80)  # vCPU ioctl（§4.10）
KVM_GET_REGS = _IOR(0x81, KvmRegs)  # vCPU ioctl（§4.11）
KVM_SET_REGS = _IOW(0x82, KvmRegs)  # §4.12
KVM_GET_SREGS = _IOR(0x83, KvmSregs)  # §4.13
KVM_SET_SREGS = _IOW(0x84, KvmSregs)  # §4.14

KVM_API_VERSION = 12  # api.rst §4.1: 12以外なら動かしてはいけない
KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT = 0, 1
# --8<-- [end:ioctls]

# exit_reasonの値と名前（<linux/kvm.h>のKVM_EXIT_*、番号順。Linux 6.1のヘッダーにある0〜37。
# それより新しいカーネルが足した理由は、exit_reason_nameが番号で表示する）
EXIT_REASON_NAMES = (
    "UNKNOWN EXCEPTION IO HYPERCALL DEBUG HLT MMIO IRQ_WINDOW_OPEN SHUTDOWN FAIL_ENTRY "
    "INTR SET_TPR TPR_ACCESS S390_SIEIC S390_RESET DCR NMI INTERNAL_ERROR OSI PAPR_HCALL "
    "S390_UCONTROL WATCHDOG S390_TSCH EPR SYSTEM_EVENT S390_STSI IOAPIC_EOI HYPERV "
    "ARM_NISV X86_RDMSR X86_WRMSR DIRTY_RING_FULL AP_RESET_HOLD X86_BUS_LOCK XEN "
    "RISCV_SBI RISCV_CSR NOTIFY"
).split()
# このプログラムが名前で使うもの（値は上の並びの位置と同じ）
KVM_EXIT_UNKNOWN = 0
KVM_EXIT_IO = 2
KVM_EXIT_HLT = 5
KVM_EXIT_MMIO = 6
KVM_EXIT_FAIL_ENTRY = 9
KVM_EXIT_INTERNAL_ERROR = 17


def exit_reason_name(reason: int) -> str:
    if 0 <= reason < len(EXIT_REASON_NAMES):
        return f"KVM_EXIT_{EXIT_REASON_NAMES[reason]}"
    return f"KVM_EXIT_?({reason})"


# ---- エラー: 読者に直し方を示すメッセージ ----------------------------------------
class KvmError(Exception):
    """このプログラムが想定した失敗。main()がメッセージだけを表示して終了コード1で終わります。"""


# --8<-- [start:open-device]
def open_kvm(path: str) -> int:
    """/dev/kvmを開き、そのファイルディスクリプター（system fd）を返します（api.rst §2）。"""
    if platform.machine() != "x86_64":  # 構造体もゲストの機械語もx86のもの
        raise KvmError(f"このプログラムはx86-64のLinux用です（このマシンは{platform.machine()}）。")
    try:
        # O_CLOEXEC: このあと子プロセスを起動しても、KVMのfdを引き継がせない
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KvmError(
            f"{path}がありません。KVMが使えない環境です。\n"
            "  - BIOS/UEFIの設定でIntel VT-xまたはAMD-Vを有効にしてください。\n"
            "  - カーネルモジュールを読み込んでください: sudo modprobe kvm-intel（AMDならkvm-amd）\n"
            "  - 仮想マシンの中なら、ネステッド仮想化を有効にしたVMが必要です。"
        ) from None
    except PermissionError:
        raise KvmError(
            f"{path}を開く権限がありません。\n"
            f"  - 所有グループと権限を確かめてください: ls -l {path}\n"
            "  - そのグループ（kvmグループなど）に自分を加え、ログインし直してください: sudo usermod -aG kvm $USER"
        ) from None


def check_api_version(kvm_fd: int) -> int:
    """KVM_GET_API_VERSIONが12であることを確かめます（api.rst §4.1）。"""
    version = fcntl.ioctl(kvm_fd, KVM_GET_API_VERSION, 0)
    if version != KVM_API_VERSION:
        raise KvmError(
            f"KVM APIのバージョンが{version}です。このプログラムは{KVM_API_VERSION}を前提にしています。\n"
            "  - 2.6.22より古いカーネルのKVMです。新しいカーネルで試してください。"
        )
    return version
# --8<-- [end:open-device]


# ---- メモリの割り当て -------------------------------------------------------
# --8<-- [start:mapping]
# Pythonのmmapモジュールは割り当てた領域の先頭アドレスを教えてくれません。KVMには
# アドレスを渡す必要があるので、libcのmmap/munmapをctypesで直接呼びます。
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
# fcntl.ioctlは整数の引数を符号付きintで渡すので、4 GiB近くのアドレスはlibcのioctlで渡す
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_MAP_FAILED = ctypes.c_void_p(-1).value


class Mapping:
    """mmapした領域。addrが先頭アドレスで、close()で解放します。"""

    def __init__(self, size: int, fd: int = -1):
        flags = mmap.MAP_SHARED if fd >= 0 else mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
        addr = _libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE, flags, fd, 0)
        if addr in (None, _MAP_FAILED):
            err = ctypes.get_errno()
            raise OSError(err, f"mmap: {os.strerror(err)}")
        self.addr, self.size = addr, size

    def write(self, offset: int, data: bytes) -> None:
        self._check(offset, len(data))
        ctypes.memmove(self.addr + offset, data, len(data))

    def read(self, offset: int, length: int) -> bytes:
        self._check(offset, length)
        return ctypes.string_at(self.addr + offset, length)

    def _check(self, offset: int, length: int) -> None:
        # 範囲の外を読み書きすると、このプロセスの別のメモリを壊してしまう
        if offset < 0 or offset + length > self.size:
            raise KvmError(f"{self.size}バイトの領域の外です: オフセット{offset}から{length}バイト")

    def close(self) -> None:
        if self.addr is not None:
            _libc.munmap(self.addr, self.size)
            self.addr = None
# --8<-- [end:mapping]


# --8<-- [start:create-vm]
TSS_ADDR = 0xFFFBD000  # 3ページ分。ゲストの物理アドレスのうち、メモリを置かない場所


def create_vm(stack: ExitStack, kvm_fd: int) -> int:
    """KVM_CREATE_VM: 空のVM（vCPUもメモリもない）を作り、VMのfdを返します（api.rst §4.2）。"""
    vm_fd = fcntl.ioctl(kvm_fd, KVM_CREATE_VM, 0)  # 0 = 標準のマシンの種類
    stack.callback(os.close, vm_fd)
    # Intelのホストでは、リアルモードのゲストのためにKVMが使う3ページの場所を、vCPUを
    # 動かす前に決めておく決まり（api.rst §4.36）。ゲストのメモリと重ならない、4 GiBの
    # すぐ下のアドレスを使う（KVMが既定で使う1ページ0xFFFBC000のすぐ上。api.rst §4.40）。
    # AMDのホストでは何もしない。
    if _libc.ioctl(vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"KVM_SET_TSS_ADDR: {os.strerror(err)}")
    return vm_fd


def add_memory(stack: ExitStack, vm_fd: int, slot: int, guest_phys_addr: int, size: int) -> Mapping:
    """プロセスのメモリを確保し、ゲストの物理アドレスに見せます（api.rst §4.35）。"""
    memory = Mapping(size)  # ただの匿名メモリ。KVMの特別なメモリではない
    stack.callback(memory.close)
    region = KvmUserspaceMemoryRegion(
        slot=slot, flags=0, guest_phys_addr=guest_phys_addr,
        memory_size=size, userspace_addr=memory.addr,
    )
    fcntl.ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, region)
    return memory
# --8<-- [end:create-vm]


# --8<-- [start:create-vcpu]
class Vcpu:
    """vCPUのfdと、そのfdをmmapしたkvm_run（api.rst §4.7、§4.5、§5）。"""

    def __init__(self, stack: ExitStack, kvm_fd: int, vm_fd: int, vcpu_id: int = 0):
        self.fd = fcntl.ioctl(vm_fd, KVM_CREATE_VCPU, vcpu_id)
        stack.callback(os.close, self.fd)
        # kvm_runの領域の大きさはカーネルが決める（x86ではkvm_runの後ろに別のページも続く）
        size = fcntl.ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)
        self.shared = Mapping(size, fd=self.fd)
        stack.callback(self.shared.close)
        # 共有領域の先頭をstruct kvm_runとして読む（コピーではなく、同じメモリを指す）
        self.run = KvmRun.from_address(self.shared.addr)
# --8<-- [end:create-vcpu]

    def get_regs(self) -> KvmRegs:
        regs = KvmRegs()
        fcntl.ioctl(self.fd, KVM_GET_REGS, regs)
        return regs

    def set_regs(self, regs: KvmRegs) -> None:
        fcntl.ioctl(self.fd, KVM_SET_REGS, regs)

    def get_sregs(self) -> KvmSregs:
        sregs = KvmSregs()
        fcntl.ioctl(self.fd, KVM_GET_SREGS, sregs)
        return sregs

    def set_sregs(self, sregs: KvmSregs) -> None:
        fcntl.ioctl(self.fd, KVM_SET_SREGS, sregs)

    # --8<-- [start:run]
    def run_once(self) -> int:
        """KVM_RUN: ゲストを実行し、ユーザー空間に戻ってきた理由を返します（api.rst §4.10）。"""
        fcntl.ioctl(self.fd, KVM_RUN, 0)  # ゲストはここで動く。戻るのはVMMの出番が来たとき
        return self.run.exit_reason

    def io_data(self) -> bytes:
        """KVM_EXIT_IOで、ゲストがOUTしたデータ（kvm_runの中、data_offsetの位置）。"""
        io = self.run.io
        return self.shared.read(io.data_offset, io.size * io.count)
    # --8<-- [end:run]


# --8<-- [start:real-mode]
def setup_real_mode(vcpu: Vcpu, entry: int) -> None:
    """vCPUを、CS:IP = 0000:entry から命令を読むリアルモードにします。

    作ったばかりのvCPUはx86のリセット直後の状態です。リアルモード（CR0のPEビットが0）で、
    CSのベースが0xFFFF0000、RIPが0xFFF0なので、最初の命令はメモリを置いていない
    0xFFFFFFF0から読まれます。RIPだけをentryにしても、CSのベースが残っていれば
    0xFFFF0000 + entryから読まれます。CSのベースも0にして、私たちが書いたメモリから
    始めさせます（api.rst §4.14 KVM_SET_SREGS、§4.12 KVM_SET_REGS）。
    """
    sregs = vcpu.get_sregs()
    for seg in (sregs.cs, sregs.ds, sregs.es, sregs.ss):
        seg.base, seg.selector = 0, 0  # 物理アドレス = セグメント×16 + オフセット = オフセット
    vcpu.set_sregs(sregs)

    regs = KvmRegs()  # すべて0から始める
    regs.rip = entry
    regs.rflags = 0x2  # KVMの初期値と同じ（ビット1だけが1）。IF = 0なので割り込みも受けない
    vcpu.set_regs(regs)
# --8<-- [end:real-mode]


# --8<-- [start:guest]
# ---- ゲストのコード（16ビットのリアルモード） -----------------------------------
GUEST_ADDR = 0x1000  # ゲストのメモリを置く物理アドレス（GPA）
GUEST_MEM_SIZE = 0x1000  # 4 KiB = 1ページ
MESSAGE_ADDR = 0x1100  # メッセージの文字列を置く物理アドレス
OUTPUT_PORT = 0x3F8  # ゲストが文字を書くI/Oポート（VMMと約束した番号）
MESSAGE = b"Hello from the guest!\n"

# アセンブリ（GNU asの.code16、Intel記法）とその機械語。コードは0x1000から始まる。
GUEST_ASM = """\
start:  mov si, 0x1100   ; SI = メッセージの先頭
        mov dx, 0x3f8    ; DX = 出力ポート
        cld              ; LODSBがSIを増やす向きにする
next:   lodsb            ; AL = [SI]、SI = SI + 1
        test al, al      ; 0（文字列の終わり）か？
        jz done
        out dx, al       ; ポートに1バイト書く → KVM_EXIT_IO
        jmp next
done:   hlt              ; 止まる → KVM_EXIT_HLT
"""
GUEST_CODE = bytes([
    0xBE, 0x00, 0x11,  # mov si, 0x1100
    0xBA, 0xF8, 0x03,  # mov dx, 0x3f8
    0xFC,              # cld
    0xAC,              # next: lodsb
    0x84, 0xC0,        # test al, al
    0x74, 0x03,        # jz done（3バイト先へ）
    0xEE,              # out dx, al
    0xEB, 0xF8,        # jmp next（8バイト前へ）
    0xF4,              # done: hlt
])
# --8<-- [end:guest]


def describe_exit(vcpu: Vcpu) -> str:
    """想定外のexitを説明する文字列: 理由の名前、理由ごとの欄、レジスター。"""
    run = vcpu.run
    lines = [f"想定外のexitです: {exit_reason_name(run.exit_reason)}（{run.exit_reason}）"]
    if run.exit_reason == KVM_EXIT_IO:
        io = run.io
        direction = "OUT" if io.direction == KVM_EXIT_IO_OUT else "IN"
        lines.append(f"  {direction} port=0x{io.port:x} size={io.size} count={io.count}")
    elif run.exit_reason == KVM_EXIT_MMIO:
        mmio = run.mmio
        kind = "書き込み" if mmio.is_write else "読み出し"
        lines.append(f"  MMIOの{kind} phys_addr=0x{mmio.phys_addr:x} len={mmio.len}")
    elif run.exit_reason == KVM_EXIT_FAIL_ENTRY:
        fail = run.fail_entry
        lines.append(
            f"  ゲストに入れませんでした: hardware_entry_failure_reason=0x{fail.hardware_entry_failure_reason:x}"
            f" cpu={fail.cpu}"
        )
    elif run.exit_reason == KVM_EXIT_INTERNAL_ERROR:
        internal = run.internal
        data = " ".join(f"0x{internal.data[i]:x}" for i in range(min(internal.ndata, 16)))
        lines.append(f"  KVMの内部エラー: suberror={internal.suberror} ndata={internal.ndata} data=[{data}]")
    elif run.exit_reason == KVM_EXIT_UNKNOWN:
        lines.append(f"  hardware_exit_reason=0x{run.hardware_exit_reason:x}")
    try:
        regs = vcpu.get_regs()
    except OSError as e:
        lines.append(f"  （レジスターを読めませんでした: {e.strerror}）")
    else:
        names = [name for name, _ in KvmRegs._fields_]
        for i in range(0, len(names), 6):
            lines.append("  " + " ".join(f"{n}={getattr(regs, n):#x}" for n in names[i : i + 6]))
    return "\n".join(lines)


# --8<-- [start:loop]
def run_guest(vcpu: Vcpu, out) -> dict[str, int]:
    """HLTまでゲストを動かし、OUTされた文字をoutに書きます。exitの回数を返します。"""
    counts = {"KVM_EXIT_IO": 0, "KVM_EXIT_HLT": 0}
    while True:
        reason = vcpu.run_once()
        if reason == KVM_EXIT_IO and vcpu.run.io.direction == KVM_EXIT_IO_OUT and vcpu.run.io.port == OUTPUT_PORT:
            counts["KVM_EXIT_IO"] += 1
            out.write(vcpu.io_data().decode("ascii", "replace"))  # ゲストの「画面」
        elif reason == KVM_EXIT_HLT:
            counts["KVM_EXIT_HLT"] += 1
            return counts  # ゲストが止まった。このVMの仕事は終わり
        else:
            raise KvmError(describe_exit(vcpu))  # この小さなVMMが知らないexit
# --8<-- [end:loop]


# --8<-- [start:main]
def hello(device: str, out=None) -> None:
    out = out or sys.stdout
    with ExitStack() as stack:  # withを出るとき、開いたfdとmmapを逆順に閉じる
        kvm_fd = open_kvm(device)
        stack.callback(os.close, kvm_fd)
        print(f"KVM APIのバージョン: {check_api_version(kvm_fd)}", file=out)

        vm_fd = create_vm(stack, kvm_fd)
        memory = add_memory(stack, vm_fd, slot=0, guest_phys_addr=GUEST_ADDR, size=GUEST_MEM_SIZE)
        memory.write(0, GUEST_CODE)  # GPA 0x1000: コード
        memory.write(MESSAGE_ADDR - GUEST_ADDR, MESSAGE + b"\0")  # GPA 0x1100: 文字列
        print(f"ゲストのメモリ: GPA 0x{GUEST_ADDR:x}〜0x{GUEST_ADDR + GUEST_MEM_SIZE - 1:x}"
              f"（{GUEST_MEM_SIZE}バイト、スロット0）", file=out)

        vcpu = Vcpu(stack, kvm_fd, vm_fd)
        setup_real_mode(vcpu, entry=GUEST_ADDR)
        print(f"vCPU 0をリアルモードで開始: CS:IP = 0000:{GUEST_ADDR:04x}", file=out)

        print(f"--- ゲストの出力（ポート0x{OUTPUT_PORT:x}） ---", file=out)
        counts = run_guest(vcpu, out)
        print("--- ここまで ---", file=out)
        rip = vcpu.get_regs().rip
        print(f"KVM_EXIT_IO: {counts['KVM_EXIT_IO']}回、KVM_EXIT_HLT: {counts['KVM_EXIT_HLT']}回"
              f"（HLTの次の命令 RIP = 0x{rip:x}）", file=out)
# --8<-- [end:main]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/dev/kvm", help="KVMのデバイスファイル（既定: /dev/kvm）")
    return parser.parse_args(argv)


def report_errors(action) -> int:
    """actionを実行し、失敗をトレースバックではなく短い日本語のメッセージで報告します。"""
    try:
        action()
    except KvmError as e:
        print(f"エラー: {e}", file=sys.stderr)
        return 1
    except OSError as e:  # ioctlやmmapの失敗。errnoだけでは、どの呼び出しかが分からない
        where = traceback.extract_tb(e.__traceback__)[-1]  # 失敗した呼び出しのある行
        print(f"エラー: システムコールが失敗しました: {e}\n"
              f"  場所: {os.path.basename(where.filename)} {where.lineno}行目: {where.line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("中断しました。", file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: hello(args.device))


if __name__ == "__main__":
    sys.exit(main())
