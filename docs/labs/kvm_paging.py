#!/usr/bin/env python3
"""ハンズオン: 64ビットのゲストとページテーブル。

ハンズオン1（kvm_hello.py）のVMMを広げ、ゲストをロングモード（64ビット）で動かします。
ゲストのページテーブルは、このプログラム（VMM）がゲストのメモリの中に作ります。ゲストは
いくつかの仮想アドレス（GVA）を読み書きし、読んだ値とページフォールトの様子をI/Oポートで
報告します。実行のあと、VMMはアドレスごとに4つの変換をたどります。

    GVA --ゲストのページテーブル--> GPA --メモリスロット--> HVA --ホストのページテーブル--> HPA

    python3 kvm_paging.py                 # kvm_hello.pyと同じディレクトリに置いて実行
    python3 kvm_paging.py --device PATH   # 別のデバイスファイルを試す

コメントの「SDM §x」はIntel 64 and IA-32 Architectures Software Developer's Manual Vol. 3A、
「APM §x」はAMD64 Architecture Programmer's Manual Vol. 2、「api.rst §x」はLinuxの
Documentation/virt/kvm/api.rstの節の番号です（版によって番号がずれることがあります）。
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import struct
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field

# --8<-- [start:import]
try:  # kvm_hello.pyを同じディレクトリに置いておく
    from kvm_hello import (  # ハンズオン1の定義をそのまま使う
        KVM_EXIT_FAIL_ENTRY,
        KVM_EXIT_HLT,
        KVM_EXIT_INTERNAL_ERROR,
        KVM_EXIT_IO,
        KVM_EXIT_IO_OUT,
        KVM_EXIT_MMIO,
        KVMIO,
        KvmError,
        KvmRegs,
        KvmSegment,
        Mapping,
        Vcpu,
        add_memory,
        check_api_version,
        create_vm,
        describe_exit,
        exit_reason_name,
        open_kvm,
        report_errors,
    )
except ModuleNotFoundError:
    sys.exit("エラー: kvm_hello.pyが見つかりません。ハンズオン1のkvm_hello.pyを、このファイルと同じディレクトリに置いてください。")
# --8<-- [end:import]

# --8<-- [start:bits]
# ---- ページテーブルのエントリのビット（4段のページング） ---------------------------------
# SDM §4.5の表「Format of a PML4 Entry」〜「Format of a Page-Table Entry」、APM §5.4.1。
# どの段のエントリも8バイトで、下位12ビットと最上位ビットがフラグ、その間が次のテーブル
# （またはページ）の物理アドレスです。ゲストのページテーブルに書く物理アドレスはGPAです。
PTE_P = 1 << 0  # Present: 1なら有効。0ならこの先の変換はなく、アクセスは#PFになる（SDM §4.7）
PTE_RW = 1 << 1  # Read/Write: 0なら書き込み禁止。CR0.WP = 1ならカーネル（CPL 0）の書き込みも（SDM §4.6）
PTE_US = 1 << 2  # User/Supervisor: 1ならユーザー（CPL 3）も使える。このゲストはCPL 0だけなので0
PTE_PWT = 1 << 3  # Page-level Write-Through: キャッシュの書き込み方式（SDM §4.9）
PTE_PCD = 1 << 4  # Page-level Cache Disable: 1ならキャッシュしない。デバイスのレジスターに使う
PTE_A = 1 << 5  # Accessed: 変換に使われると1になる。作るときは0にしておく（SDM §4.8）
PTE_D = 1 << 6  # Dirty: ページに書き込まれると1になる。ページを指すエントリだけにある（SDM §4.8）
PTE_PS = 1 << 7  # Page Size: PDPTEで1なら1 GiB、PDEで1なら2 MiBのページを直接指す
PTE_NX = 1 << 63  # Execute-Disable（Intel: XD、AMD: NX）: EFER.NXE = 1のとき、命令の読み出しを禁止
ADDR_MASK = 0x000F_FFFF_FFFF_F000  # ビット51〜12: 次のテーブル（またはページ）の物理アドレス

FLAG_NAMES = (("P", PTE_P), ("RW", PTE_RW), ("US", PTE_US), ("PWT", PTE_PWT), ("PCD", PTE_PCD),
              ("A", PTE_A), ("D", PTE_D), ("PS", PTE_PS), ("NX", PTE_NX))

# 段の名前と、仮想アドレスのどのビットがその段の索引か（各段9ビット = 512エントリ）
LEVELS = (("PML4", 39), ("PDPT", 30), ("PD", 21), ("PT", 12))
PAGE_4K, PAGE_2M, PAGE_1G = 1 << 12, 1 << 21, 1 << 30
# --8<-- [end:bits]

# --8<-- [start:layout]
# ---- ゲストの物理メモリ（GPA）: 2枚のスロット -----------------------------------------
LOW_GPA, LOW_SIZE = 0x0, PAGE_2M  # スロット0: ページテーブル、GDT、IDT、コード、スタック、データ
HIGH_GPA, HIGH_SIZE = 0x200000, PAGE_2M  # スロット1: 2 MiBのページ1枚の中身
TABLES_GPA = 0x1000  # ここから4 KiBずつページテーブルを置く（PML4が最初）
GDT_GPA = 0x8000
IDT_GPA = 0x9000
CODE_GPA = 0xA000
STACK_TOP = 0xC000  # スタックは0xB000〜0xBFFF（下に向かって伸びる）

# ---- ゲストの仮想アドレス（GVA）と、その行き先 ------------------------------------------
# 4 KiBのページの4つは、索引がPML4 1、PDPT 2、PD 3、PT 4〜7になるように選んだアドレスです。
GVA_WRITE = 0x0000_0080_8060_4010  # 4 KiBのページに書き込む → GPA 0x153010
GVA_READ = 0x0000_0080_8060_5020  # 4 KiBのページから読む → GPA 0x178020
GVA_MMIO = 0x0000_0080_8060_6000  # 4 KiBのページ → GPA 0x10000000（スロットがない）
GVA_UNMAPPED = 0x0000_0080_8060_7000  # PTのエントリが0（P = 0）→ ページフォールト
GVA_2M = 0x0000_0080_8081_2340  # PDのエントリ4が2 MiBのページ → GPA 0x212340
WRITE_GPA, READ_GPA, MMIO_GPA = 0x153000, 0x178000, 0x1000_0000
WRITE_VALUE = 0x5A  # ゲストがGVA_WRITEに書く1バイト

PORT_VALUE = 0x10  # ゲストが読んだ値を報告するポート
PORT_CR2 = 0x11  # ページフォールトのCR2（下位32ビット、上位32ビットの順）
PORT_ERROR = 0x12  # ページフォールトのエラーコード
# --8<-- [end:layout]


# --8<-- [start:memory]
@dataclass
class Slot:
    number: int
    gpa: int
    size: int
    mapping: Mapping  # このプロセスのメモリ。mapping.addrがHVA


class GuestMemory:
    """ゲストの物理メモリ。GPAからスロットを探して読み書きします（api.rst §4.35）。"""

    def __init__(self, stack: ExitStack, vm_fd: int, layout: list[tuple[int, int]]):
        self.slots = [
            Slot(number, gpa, size, add_memory(stack, vm_fd, slot=number, guest_phys_addr=gpa, size=size))
            for number, (gpa, size) in enumerate(layout)
        ]

    def slot_of(self, gpa: int) -> Slot | None:
        """GPAを含むスロット。なければNone（そのGPAへのアクセスはKVM_EXIT_MMIOになる）。"""
        return next((s for s in self.slots if s.gpa <= gpa < s.gpa + s.size), None)

    def hva(self, gpa: int) -> int | None:
        """GPA → HVA: スロットの先頭のHVA + スロットの中での位置。"""
        slot = self.slot_of(gpa)
        return None if slot is None else slot.mapping.addr + (gpa - slot.gpa)

    def read(self, gpa: int, length: int) -> bytes:
        slot = self._slot(gpa)
        return slot.mapping.read(gpa - slot.gpa, length)

    def write(self, gpa: int, data: bytes) -> None:
        slot = self._slot(gpa)
        slot.mapping.write(gpa - slot.gpa, data)

    def read_u64(self, gpa: int) -> int:
        return int.from_bytes(self.read(gpa, 8), "little")

    def write_u64(self, gpa: int, value: int) -> None:
        self.write(gpa, value.to_bytes(8, "little"))

    def _slot(self, gpa: int) -> Slot:
        slot = self.slot_of(gpa)
        if slot is None:
            raise KvmError(f"GPA 0x{gpa:x}にはメモリのスロットがありません")
        return slot
# --8<-- [end:memory]


# --8<-- [start:tables]
class PageTables:
    """ゲストのメモリの中に4段のページテーブルを作ります（SDM §4.5、APM §5.3）。

    各段のテーブルは4 KiBで、8バイトのエントリが512個並びます。CR3が最上段（PML4）の
    テーブルを指し、各段のエントリが次の段のテーブルを、最後の段のエントリがページを指します。
    """

    TABLE_FLAGS = PTE_P | PTE_RW  # 途中の段のエントリ。許可は下の段で絞る

    def __init__(self, memory: GuestMemory, first_gpa: int):
        self.memory = memory
        self.next_gpa = first_gpa
        self.built: dict[int, int] = {}  # エントリのGPA → 作ったときの値（A/Dの変化を見るため）
        self.tables: list[tuple[str, int]] = []  # （段の名前, テーブルのGPA）
        self.cr3 = self._new_table("PML4")

    def _new_table(self, name: str) -> int:
        gpa = self.next_gpa
        self.next_gpa += PAGE_4K
        self.memory.write(gpa, bytes(PAGE_4K))  # 512個のエントリをすべて0（P = 0）に
        self.tables.append((name, gpa))
        return gpa

    def _set(self, entry_gpa: int, value: int) -> None:
        self.memory.write_u64(entry_gpa, value)
        self.built[entry_gpa] = value

    def map(self, gva: int, gpa: int, size: int, flags: int) -> None:
        """GVAからsizeバイト（4 KiB、2 MiB、1 GiBのページ1枚）をGPAに対応づけます。"""
        if gva % size or gpa % size:  # ページの先頭は、ページの大きさの倍数でなければならない
            raise KvmError(f"GVA 0x{gva:x}とGPA 0x{gpa:x}は、{size // 1024} KiBのページの先頭になれません")
        leaf_level = {PAGE_1G: 1, PAGE_2M: 2, PAGE_4K: 3}[size]  # LEVELSの何番目でページを指すか
        table = self.cr3
        for level, (name, shift) in enumerate(LEVELS):
            entry_gpa = table + 8 * ((gva >> shift) & 0x1FF)  # 索引 × 8バイト
            if level == leaf_level:  # ページを指すエントリ。4 KiBより大きければPS = 1
                self._set(entry_gpa, gpa | flags | (PTE_PS if size > PAGE_4K else 0))
                return
            entry = self.memory.read_u64(entry_gpa)
            if not entry & PTE_P:  # 次の段のテーブルがまだない: 新しく作ってつなぐ
                entry = self._new_table(LEVELS[level + 1][0]) | self.TABLE_FLAGS
                self._set(entry_gpa, entry)
            table = entry & ADDR_MASK


def build_page_tables(memory: GuestMemory) -> PageTables:
    tables = PageTables(memory, TABLES_GPA)
    # GVA 0〜2 MiBをそのままGPA 0〜2 MiBに（恒等マッピング）。コードとスタックとGDTはここ
    tables.map(0x0, 0x0, PAGE_2M, PTE_P | PTE_RW)
    # データのページ。どれも実行禁止（NX）
    tables.map(GVA_WRITE & ~(PAGE_4K - 1), WRITE_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_NX)
    tables.map(GVA_READ & ~(PAGE_4K - 1), READ_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_NX)
    # デバイスのつもりのページ: キャッシュしない（PCD、PWT）。GPAにスロットはない
    tables.map(GVA_MMIO, MMIO_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_PWT | PTE_PCD | PTE_NX)
    # 2 MiBのページ: PDのエントリがPS = 1で、ページ（スロット1）を直接指す
    tables.map(GVA_2M & ~(PAGE_2M - 1), HIGH_GPA, PAGE_2M, PTE_P | PTE_RW | PTE_NX)
    # GVA_UNMAPPEDには何もしない: 同じPTの7番のエントリは0のまま（P = 0）
    return tables
# --8<-- [end:tables]


# --8<-- [start:descriptors]
# ---- GDTとIDT（どちらもゲストのメモリの中） --------------------------------------------
CODE_SELECTOR, DATA_SELECTOR = 0x08, 0x10  # GDTの1番と2番（× 8バイト）


def long_mode_segments() -> tuple[KvmSegment, KvmSegment]:
    """64ビットのコードセグメントとデータセグメント（SDM §3.4.5、§5.2.1）。"""
    code = KvmSegment(base=0, limit=0xFFFFFFFF, selector=CODE_SELECTOR, type=0xB, present=1,
                      dpl=0, db=0, s=1, l=1, g=1)  # type 0xB = 実行・読み出し・アクセス済み、L = 1: 64ビット
    data = KvmSegment(base=0, limit=0xFFFFFFFF, selector=DATA_SELECTOR, type=0x3, present=1,
                      dpl=0, db=1, s=1, l=0, g=1)  # type 0x3 = 読み書き・アクセス済み
    return code, data


def gdt_descriptor(seg: KvmSegment) -> bytes:
    """KvmSegmentと同じ値の、GDTに置く8バイトのセグメントディスクリプター（SDM §3.4.5）。"""
    limit = seg.limit >> 12 if seg.g else seg.limit  # G = 1なら4 KiB単位
    access = seg.type | (seg.s << 4) | (seg.dpl << 5) | (seg.present << 7)
    flags = (seg.avl << 0) | (seg.l << 1) | (seg.db << 2) | (seg.g << 3)
    value = ((limit & 0xFFFF) | ((seg.base & 0xFFFFFF) << 16) | (access << 40)
             | (((limit >> 16) & 0xF) << 48) | (flags << 52) | (((seg.base >> 24) & 0xFF) << 56))
    return value.to_bytes(8, "little")


def idt_gate(handler: int, selector: int) -> bytes:
    """64ビットモードのIDTのエントリ（16バイト、SDM §6.14.1）: 割り込みゲート。"""
    type_attr = 0x8E  # P = 1、DPL = 0、型 0xE = 64ビットの割り込みゲート
    return struct.pack("<HHBBHII", handler & 0xFFFF, selector, 0, type_attr,
                       (handler >> 16) & 0xFFFF, handler >> 32, 0)
# --8<-- [end:descriptors]


# --8<-- [start:guest]
# ---- ゲストのコード（64ビットモード、CPL 0） ---------------------------------------------
# アセンブリ（GNU asの.code64、Intel記法）とその機械語。コードはGVA = GPA = 0xA000から始まる。
# アセンブリの中の数値は、上で決めた定数（GVA_WRITEなど、ポートの番号）と同じ値です。
def q(value: int) -> bytes:  # 64ビットの即値（リトルエンディアン）
    return value.to_bytes(8, "little")


GUEST_ASM = """\
start:  movabs rbx, 0x8080604010    ; GVA_WRITE（4 KiBのページ）
        mov byte ptr [rbx], 0x5a    ; 書き込む → PTEにAとD
        movabs rbx, 0x8080605020    ; GVA_READ（4 KiBのページ）
        mov eax, dword ptr [rbx]    ; 読む → PTEにAだけ
        out 0x10, eax               ; 読んだ値を報告 → KVM_EXIT_IO
        movabs rbx, 0x8080812340    ; GVA_2M（2 MiBのページ）
        mov eax, dword ptr [rbx]
        out 0x10, eax
        movabs rbx, 0x8080606000    ; GVA_MMIO（GPAにスロットがない）
        mov byte ptr [rbx], 0x42    ; → KVM_EXIT_MMIO
        movabs rbx, 0x8080607000    ; GVA_UNMAPPED（PTEのP = 0）
        mov byte ptr [rbx], 0x1     ; → ページフォールト（ベクター14）
        hlt                         ; （ここには来ない）
pf:     mov rax, cr2                ; 例外ハンドラー: CR2 = フォールトしたGVA
        out 0x11, eax               ; 下位32ビット
        shr rax, 32
        out 0x11, eax               ; 上位32ビット
        mov eax, dword ptr [rsp]    ; スタックの先頭 = エラーコード
        out 0x12, eax
        hlt                         ; → KVM_EXIT_HLT
"""
GUEST_MAIN = b"".join([
    b"\x48\xBB" + q(GVA_WRITE),          # start: movabs rbx, GVA_WRITE（48 = REX.W、BB = B8 + RBXの番号3）
    bytes([0xC6, 0x03, WRITE_VALUE]),    # mov byte ptr [rbx], 0x5a
    b"\x48\xBB" + q(GVA_READ),           # movabs rbx, GVA_READ
    b"\x8B\x03",                         # mov eax, dword ptr [rbx]
    bytes([0xE7, PORT_VALUE]),           # out 0x10, eax
    b"\x48\xBB" + q(GVA_2M),             # movabs rbx, GVA_2M
    b"\x8B\x03",                         # mov eax, dword ptr [rbx]
    bytes([0xE7, PORT_VALUE]),           # out 0x10, eax
    b"\x48\xBB" + q(GVA_MMIO),           # movabs rbx, GVA_MMIO
    b"\xC6\x03\x42",                     # mov byte ptr [rbx], 0x42
    b"\x48\xBB" + q(GVA_UNMAPPED),       # movabs rbx, GVA_UNMAPPED
    b"\xC6\x03\x01",                     # mov byte ptr [rbx], 0x1
    b"\xF4",                             # hlt
])
GUEST_HANDLER = b"".join([
    b"\x0F\x20\xD0",                     # pf: mov rax, cr2
    bytes([0xE7, PORT_CR2]),             # out 0x11, eax
    b"\x48\xC1\xE8\x20",                 # shr rax, 32
    bytes([0xE7, PORT_CR2]),             # out 0x11, eax
    b"\x8B\x04\x24",                     # mov eax, dword ptr [rsp]
    bytes([0xE7, PORT_ERROR]),           # out 0x12, eax
    b"\xF4",                             # hlt
])
GUEST_CODE = GUEST_MAIN + GUEST_HANDLER
PF_HANDLER = CODE_GPA + len(GUEST_MAIN)  # ラベルpfのアドレス（IDTの14番に書く）
PF_VECTOR = 14


def write_guest(memory: GuestMemory) -> None:
    """GDT、IDT、コードと、読み出し用の目印をゲストのメモリに書きます。"""
    code, data = long_mode_segments()
    memory.write(GDT_GPA, bytes(8) + gdt_descriptor(code) + gdt_descriptor(data))  # 0番は空
    memory.write(IDT_GPA + 16 * PF_VECTOR, idt_gate(PF_HANDLER, CODE_SELECTOR))
    memory.write(CODE_GPA, GUEST_CODE)
    # 読まれる場所に目印を置く: その場所のGPA自身の値。ゲストが報告した値で、どこを読んだかが分かる
    for gpa in (READ_GPA + (GVA_READ & 0xFFF), HIGH_GPA + (GVA_2M & (PAGE_2M - 1))):
        memory.write(gpa, gpa.to_bytes(4, "little"))
# --8<-- [end:guest]


# --8<-- [start:cpuid]
# ---- ゲストに見せるCPUID（api.rst §4.46 KVM_GET_SUPPORTED_CPUID、KVM_SET_CPUID2） -----------
u32 = ctypes.c_uint32


class KvmCpuidEntry2(ctypes.Structure):
    """struct kvm_cpuid_entry2: CPUIDの機能番号（と副番号）1つへの答え。"""

    _fields_ = [("function", u32), ("index", u32), ("flags", u32),
                ("eax", u32), ("ebx", u32), ("ecx", u32), ("edx", u32), ("padding", u32 * 3)]


MAX_CPUID_ENTRIES = 256  # 足りる数（このマシンのKVMが返したのは75個）


class KvmCpuid2(ctypes.Structure):
    """struct kvm_cpuid2: 8バイトの見出し（エントリの数）のあとにエントリが並ぶ。"""

    _fields_ = [("nent", u32), ("padding", u32), ("entries", KvmCpuidEntry2 * MAX_CPUID_ENTRIES)]


def _iowr(nr: int, size: int) -> int:  # _IOWR: カーネルが読んで書き戻す（<asm-generic/ioctl.h>）
    return (3 << 30) | (size << 16) | (KVMIO << 8) | nr


KVM_GET_SUPPORTED_CPUID = _iowr(0x05, 8)  # system ioctl。番号に入る大きさは見出しの8バイト
KVM_SET_CPUID2 = (1 << 30) | (8 << 16) | (KVMIO << 8) | 0x90  # vCPU ioctl（_IOW）
# CPUIDの機能番号0x80000001のEDX（Intel SDM Vol. 2Aの「CPUID」、Linuxのcpufeatures.h）
CPUID_EXT = 0x80000001
EDX_NX, EDX_PAGE1GB, EDX_LM = 1 << 20, 1 << 26, 1 << 29


def set_cpuid(kvm_fd: int, vcpu: Vcpu) -> dict[str, bool]:
    """KVMとこのCPUが提供できる機能をそのままゲストのCPUIDにします。

    KVMは、ゲストのページテーブルをソフトウェアでたどるとき（シャドウページング、
    命令のエミュレーション、KVM_TRANSLATE）にも、ゲストのCPUIDを見てエントリの
    予約ビットを決めます。たとえば1 GiBのページは、CPUIDで見せたときだけ有効です。
    """
    cpuid = KvmCpuid2(nent=MAX_CPUID_ENTRIES)  # KVMが、実際に書いた数に直して返す
    fcntl.ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid)
    fcntl.ioctl(vcpu.fd, KVM_SET_CPUID2, cpuid)
    ext = next((e for e in cpuid.entries[: cpuid.nent] if e.function == CPUID_EXT), None)
    edx = ext.edx if ext else 0
    return {"lm": bool(edx & EDX_LM), "nx": bool(edx & EDX_NX), "page1gb": bool(edx & EDX_PAGE1GB)}
# --8<-- [end:cpuid]


# --8<-- [start:long-mode]
# ---- ロングモードの制御レジスター（SDM §2.5、§2.2.1、§9.8.5） ----------------------------
CR0_PE = 1 << 0  # 保護モード
CR0_WP = 1 << 16  # Write Protect: CPL 0でもRW = 0のページに書けなくする
CR0_PG = 1 << 31  # ページング
CR4_PAE = 1 << 5  # 物理アドレス拡張: 8バイトのエントリ（ロングモードの前提）
EFER_LME = 1 << 8  # Long Mode Enable
EFER_LMA = 1 << 10  # Long Mode Active（CPUが立てるビット。KVM_SET_SREGSでは自分で書く）
EFER_NXE = 1 << 11  # エントリのビット63（NX）を使う


def enter_long_mode(vcpu: Vcpu, cr3: int) -> None:
    """vCPUを、ページングの有効な64ビットモードでCODE_GPAから始めます。

    本物のOSはリアルモードから保護モードを経てロングモードに入ります（SDM §9.8.5）。
    KVMではその手順を飛ばし、最後の状態をKVM_SET_SREGSで直接書けます（api.rst §4.14）。
    """
    sregs = vcpu.get_sregs()
    sregs.cs, data = long_mode_segments()
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data
    sregs.gdt.base, sregs.gdt.limit = GDT_GPA, 3 * 8 - 1
    sregs.idt.base, sregs.idt.limit = IDT_GPA, 16 * (PF_VECTOR + 1) - 1
    sregs.cr3 = cr3  # PML4のテーブルのGPA
    sregs.cr4 = CR4_PAE
    sregs.cr0 = CR0_PE | CR0_WP | CR0_PG
    sregs.efer = EFER_LME | EFER_LMA | EFER_NXE
    try:
        vcpu.set_sregs(sregs)
    except OSError as e:
        raise KvmError(
            f"KVM_SET_SREGSが、ロングモードの設定を受け付けませんでした（{e.strerror}）。\n"
            "  - このKVMは、64ビットのゲストを動かせないのかもしれません。"
        ) from None
    regs = KvmRegs(rip=CODE_GPA, rsp=STACK_TOP, rflags=0x2)  # IF = 0: 割り込みは受けない
    vcpu.set_regs(regs)
# --8<-- [end:long-mode]


# --8<-- [start:loop]
@dataclass
class GuestReport:
    values: list[int] = field(default_factory=list)  # ポート0x10に報告された値
    cr2_parts: list[int] = field(default_factory=list)  # ポート0x11（下位、上位）
    error_code: int | None = None  # ポート0x12
    mmio: list[tuple[int, int, bool]] = field(default_factory=list)  # （GPA, 長さ, 書き込みか）

    @property
    def cr2(self) -> int | None:
        if len(self.cr2_parts) < 2:
            return None
        return self.cr2_parts[0] | (self.cr2_parts[1] << 32)


def run_guest(vcpu: Vcpu, out) -> GuestReport:
    """HLTまでゲストを動かし、I/OポートとMMIOのexitを表示します。"""
    report = GuestReport()
    while True:
        reason = vcpu.run_once()
        run = vcpu.run
        if reason == KVM_EXIT_IO and run.io.direction == KVM_EXIT_IO_OUT and run.io.port in (
                PORT_VALUE, PORT_CR2, PORT_ERROR):
            value = int.from_bytes(vcpu.io_data(), "little")
            port = run.io.port
            if port == PORT_VALUE:
                report.values.append(value)
                note = "ゲストが読んだ値"
            elif port == PORT_CR2:
                report.cr2_parts.append(value)
                note = "CR2の" + ("下位" if len(report.cr2_parts) == 1 else "上位") + "32ビット"
            else:
                report.error_code = value
                note = "ページフォールトのエラーコード"
            print(f"KVM_EXIT_IO    OUT ポート0x{port:x}: 0x{value:08x}（{note}）", file=out)
        elif reason == KVM_EXIT_MMIO:
            mmio = run.mmio
            report.mmio.append((mmio.phys_addr, mmio.len, bool(mmio.is_write)))
            if mmio.is_write:
                data = int.from_bytes(bytes(mmio.data[: mmio.len]), "little")
                print(f"KVM_EXIT_MMIO  書き込み GPA 0x{mmio.phys_addr:x} len={mmio.len} data=0x{data:x}", file=out)
            else:  # 読み出しには0を返す（このプログラムのゲストは読まない）
                mmio.data[: mmio.len] = bytes(mmio.len)
                print(f"KVM_EXIT_MMIO  読み出し GPA 0x{mmio.phys_addr:x} len={mmio.len} → 0を返す", file=out)
        elif reason == KVM_EXIT_HLT:
            print("KVM_EXIT_HLT", file=out)
            return report
        else:
            raise KvmError(describe_exit(vcpu) + explain_stop(reason, report))


def explain_stop(reason: int, report: GuestReport) -> str:
    """想定外のexitに、ロングモードのゲストでよくある理由を添えます。"""
    started = report.values or report.mmio or report.cr2_parts
    if reason in (KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR) and not started:
        return (f"\n  - 最初のKVM_RUNが{exit_reason_name(reason)}で戻りました。このKVMは、ページングの"
                "有効なロングモードのゲストを動かせないのかもしれません。")
    if exit_reason_name(reason) == "KVM_EXIT_SHUTDOWN":
        return ("\n  - ゲストが例外を処理できずに止まりました（トリプルフォールト）。ページテーブル、GDT、"
                "IDTの設定を確かめてください。")
    return ""
# --8<-- [end:loop]


# --8<-- [start:walk]
@dataclass
class Step:
    name: str  # 段の名前（PML4、PDPT、PD、PT）
    index: int  # テーブルの中の索引（0〜511）
    entry_gpa: int  # エントリのGPA = テーブルのGPA + 索引 × 8
    entry: int  # いまの値
    built: int  # VMMが作ったときの値
    leaf: bool  # ページを指すエントリか


@dataclass
class Walk:
    gva: int
    steps: list[Step]
    gpa: int | None = None  # 変換できなければNone（そのアドレスへのアクセスはページフォールトになる）
    page_size: int | None = None
    fault: str | None = None  # 変換できなかった理由


def walk(memory: GuestMemory, tables: PageTables, cr3: int, gva: int, page1gb: bool) -> Walk:
    """CPUと同じ手順で、ゲストのページテーブルをPythonでたどります（SDM §4.5）。"""
    steps: list[Step] = []
    table = cr3 & ADDR_MASK
    for level, (name, shift) in enumerate(LEVELS):
        index = (gva >> shift) & 0x1FF  # この段で使うGVAの9ビット
        entry_gpa = table + 8 * index
        entry = memory.read_u64(entry_gpa)
        leaf = level == len(LEVELS) - 1 or (name in ("PDPT", "PD") and bool(entry & PTE_PS))
        steps.append(Step(name, index, entry_gpa, entry, tables.built.get(entry_gpa, 0), leaf))
        if not entry & PTE_P:  # P = 0: ここで変換が終わる（#PFのエラーコードはP = 0）
            return Walk(gva, steps, fault=f"{name}のエントリのP = 0")
        if name == "PDPT" and leaf and not page1gb:  # 1 GiBのページがないCPUでは、PSは予約ビット
            return Walk(gva, steps, fault="PDPTのエントリのPS = 1（このゲストのCPUIDに1 GiBのページがないので予約ビット）")
        if leaf:
            size = 1 << shift  # PTなら4 KiB、PDなら2 MiB、PDPTなら1 GiB
            gpa = (entry & ADDR_MASK & ~(size - 1)) | (gva & (size - 1))  # ページの先頭 + ページの中の位置
            return Walk(gva, steps, gpa, size)
        table = entry & ADDR_MASK  # 次の段のテーブルのGPA
    raise AssertionError("unreachable")


def flag_names(entry: int, leaf: bool) -> str:
    """エントリのフラグの名前。DとPSは、ページを指すエントリでだけ意味がある（途中の段では無視される）。"""
    return " ".join(name for name, bit in FLAG_NAMES
                    if entry & bit and (leaf or name not in ("D", "PS")))
# --8<-- [end:walk]


# --8<-- [start:translate]
class KvmTranslation(ctypes.Structure):
    """struct kvm_translation（api.rst §4.15 KVM_TRANSLATE）。"""

    _fields_ = [
        ("linear_address", ctypes.c_uint64),  # 入力: GVA
        ("physical_address", ctypes.c_uint64),  # 出力: GPA
        ("valid", ctypes.c_uint8),  # 出力: 1なら変換できた
        ("writeable", ctypes.c_uint8),  # 出力（x86のKVMは常に1を返す）
        ("usermode", ctypes.c_uint8),  # 出力（x86のKVMは常に0を返す）
        ("pad", ctypes.c_uint8 * 5),
    ]


# _IOWR: カーネルが構造体を読み、書き戻す（方向 = 読み書きの両方、<asm-generic/ioctl.h>）
KVM_TRANSLATE = (3 << 30) | (ctypes.sizeof(KvmTranslation) << 16) | (KVMIO << 8) | 0x85  # vCPU ioctl


def kvm_translate(vcpu: Vcpu, gva: int) -> int | None:
    """KVMに、いまのvCPUの設定でGVAを変換させます。返るのはGPA（HPAではない）。"""
    tr = KvmTranslation(linear_address=gva)
    fcntl.ioctl(vcpu.fd, KVM_TRANSLATE, tr)
    return tr.physical_address if tr.valid else None
# --8<-- [end:translate]


# --8<-- [start:pagemap]
PAGEMAP_PRESENT = 1 << 63  # そのページがメモリにある（Documentation/admin-guide/mm/pagemap.rst）
PAGEMAP_PFN_MASK = (1 << 55) - 1  # ビット54〜0: 物理ページの番号（PFN）


class Pagemap:
    """/proc/self/pagemap: このプロセスの仮想ページごとに8バイト（PFNなど）。"""

    def __init__(self, stack: ExitStack):
        try:
            self.fd = os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            self.fd, self.error = None, e.strerror
        else:
            stack.callback(os.close, self.fd)
            self.error = None

    def hpa(self, hva: int) -> tuple[int | None, str]:
        """HVA → HPA。読めなければ（None, 理由）。"""
        if self.fd is None:
            return None, f"/proc/self/pagemapを開けません（{self.error}）"
        entry = int.from_bytes(os.pread(self.fd, 8, (hva // PAGE_4K) * 8), "little")
        if not entry & PAGEMAP_PRESENT:
            return None, "ページがメモリにありません（まだ触れていないか、スワップされた）"
        pfn = entry & PAGEMAP_PFN_MASK
        if pfn == 0:  # Linux 4.2以降、CAP_SYS_ADMINのないプロセスにはPFNを0で見せる
            return None, "PFNが0と読めました（CAP_SYS_ADMINのないプロセスには、カーネルがPFNを隠します）"
        return pfn * PAGE_4K + hva % PAGE_4K, f"PFN 0x{pfn:x}"
# --8<-- [end:pagemap]


# --8<-- [start:count]
# ---- TLBミスのときのページウォークの参照の回数 ------------------------------------------
# /memory/のウィジェットと同じ規則: 最終的なデータアクセスは数えない。ゲストの段数をn、
# ネステッドのページテーブル（EPT/NPT）の段数をmとして、ネイティブとシャドウページングはn回、
# EPT/NPTは(n+1)(m+1)−1回。ウィジェットと同じく、ネステッドのページテーブルもゲストと同じ大きさの
# ページを使うとする（4段から、2 MiBなら1段、1 GiBなら2段減る）。
FEWER_LEVELS = {PAGE_4K: 0, PAGE_2M: 1, PAGE_1G: 2}


def walk_references(guest_levels: int, nested_levels: int) -> dict[str, int]:
    n, m = guest_levels, nested_levels
    return {"native": n, "shadow": n, "nested": (n + 1) * (m + 1) - 1}


def references_for(page_size: int, paging_levels: int = 4) -> dict[str, int]:
    levels = paging_levels - FEWER_LEVELS[page_size]
    return walk_references(levels, levels)
# --8<-- [end:count]


# --8<-- [start:host]
def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return None


def describe_host() -> tuple[str, str]:
    """KVMのベンダーモジュールから、ホストの種類と2段目の変換の方式を調べます。"""
    cpuinfo = read_text("/proc/cpuinfo") or ""
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    nested = "、ホスト自身も仮想マシン（cpuinfoにhypervisor）" if "hypervisor" in flags else ""
    if os.path.isdir("/sys/module/kvm_intel"):
        ept = read_text("/sys/module/kvm_intel/parameters/ept") in ("Y", "1")
        return (f"Intel VT-x（kvm_intel）{nested}",
                "EPT（ハードウェア）" if ept else "シャドウページング（EPTは無効）")
    if os.path.isdir("/sys/module/kvm_amd"):
        npt = read_text("/sys/module/kvm_amd/parameters/npt") in ("Y", "1")
        return (f"AMD-V（kvm_amd）{nested}",
                "NPT（ハードウェア）" if npt else "シャドウページング（NPTは無効）")
    if os.path.isdir("/sys/module/kvm_pvm"):
        cpu = "CPUにvmx/svmなし" if not {"vmx", "svm"} & set(flags) else "vmx/svmあり"
        return f"PVM（kvm_pvm、{cpu}）{nested}", "シャドウページング（ソフトウェア）"
    return f"不明（kvm_intel、kvm_amd、kvm_pvmのどれも読み込まれていない）{nested}", "不明"
# --8<-- [end:host]


# --8<-- [start:report]
ADDRESSES = (  # （GVA, 説明）。実行のあとに、この順でGVAからHPAまでの変換をたどる
    (GVA_WRITE, "4 KiBのページに書き込み"),
    (GVA_READ, "4 KiBのページから読み出し"),
    (GVA_2M, "2 MiBのページから読み出し"),
    (GVA_MMIO, "スロットのないGPAへの書き込み"),
    (GVA_UNMAPPED, "P = 0のページへの書き込み"),
)
SIZE_NAMES = {PAGE_4K: "4 KiB", PAGE_2M: "2 MiB", PAGE_1G: "1 GiB"}


def report_address(out, memory: GuestMemory, tables: PageTables, vcpu: Vcpu, pagemap: Pagemap,
                   cr3: int, page1gb: bool, gva: int, label: str) -> Walk:
    # ① GVA → GPA: ゲストのページテーブルをPythonでたどる。KVM_TRANSLATEより先に読む
    #   （KVM_TRANSLATEは、たどったエントリのAを1にすることがあるため）
    result = walk(memory, tables, cr3, gva, page1gb)
    translated = kvm_translate(vcpu, gva)
    print(f"GVA 0x{gva:x}（{label}）", file=out)
    for s in result.steps:
        change = f"0x{s.built:016x} → 0x{s.entry:016x}" if s.entry != s.built else f"0x{s.entry:016x}"
        line = f"  {s.name + f'[{s.index}]':<8} GPA 0x{s.entry_gpa:<5x} {change:<40}  {flag_names(s.entry, s.leaf)}"
        print(line.rstrip(), file=out)
    if result.gpa is None:
        print(f"  Pythonのウォーク: 変換できない（{result.fault}）", file=out)
    else:
        print(f"  Pythonのウォーク: GPA 0x{result.gpa:x}（{SIZE_NAMES[result.page_size]}のページ）", file=out)
    agree = "一致" if translated == result.gpa else "不一致"
    answer = f"GPA 0x{translated:x}" if translated is not None else "valid = 0（変換できない）"
    print(f"  KVM_TRANSLATE:    {answer}（Pythonのウォークと{agree}）", file=out)
    if result.gpa is None:
        return result
    # ② GPA → HVA: VMMが自分で登録したメモリスロットから計算する
    slot = memory.slot_of(result.gpa)
    if slot is None:
        print("  GPA → HVA:        スロットなし（このGPAへのアクセスはKVM_EXIT_MMIOでVMMに届く）", file=out)
        return result
    hva = memory.hva(result.gpa)
    print(f"  GPA → HVA:        スロット{slot.number}（GPA 0x{slot.gpa:x}〜がHVA 0x{slot.mapping.addr:x}〜）"
          f" → HVA 0x{hva:x}", file=out)
    # ③ HVA → HPA: ホストのページテーブル（/proc/self/pagemap）
    hpa, how = pagemap.hpa(hva)
    print(f"  HVA → HPA:        {how}" + (f" → HPA 0x{hpa:x}" if hpa is not None else ""), file=out)
    # ④ このウォークのTLBミスのときの参照の回数
    counts = references_for(result.page_size)
    size = SIZE_NAMES[result.page_size]
    print(f"  TLBミスのときの参照: ネイティブ{counts['native']}回、シャドウ{counts['shadow']}回、"
          f"EPT/NPT {counts['nested']}回（ネステッドも{size}のページのとき）", file=out)
    return result
# --8<-- [end:report]


# --8<-- [start:main]
def paging(device: str, out=None) -> None:
    out = out or sys.stdout
    with ExitStack() as stack:  # 途中で失敗しても、fdとmmapはすべて閉じる
        kvm_fd = open_kvm(device)
        stack.callback(os.close, kvm_fd)
        check_api_version(kvm_fd)
        host, second_stage = describe_host()
        print(f"ホスト: {host}", file=out)
        print(f"GPA → HPAの変換: {second_stage}", file=out)

        vm_fd = create_vm(stack, kvm_fd)
        memory = GuestMemory(stack, vm_fd, [(LOW_GPA, LOW_SIZE), (HIGH_GPA, HIGH_SIZE)])
        tables = build_page_tables(memory)
        write_guest(memory)
        vcpu = Vcpu(stack, kvm_fd, vm_fd)
        features = set_cpuid(kvm_fd, vcpu)
        if not features["lm"]:
            raise KvmError(
                "このKVMは、ゲストにロングモード（64ビット）を提供していません"
                "（KVM_GET_SUPPORTED_CPUIDの0x80000001 EDXのビット29が0）。\n"
                "  - この実習のゲストは64ビットで動くので、このホストでは実行できません。"
            )
        yes = {True: "あり", False: "なし"}
        print(f"ゲストのCPUID: ロングモード {yes[features['lm']]}、NX {yes[features['nx']]}、"
              f"1 GiBのページ {yes[features['page1gb']]}", file=out)
        enter_long_mode(vcpu, tables.cr3)
        listing = "、".join(f"{name} 0x{gpa:x}" for name, gpa in tables.tables)
        print(f"ページテーブル: {listing}（CR3 = 0x{tables.cr3:x}）", file=out)
        print(f"vCPU 0をロングモードで開始: RIP = 0x{CODE_GPA:x}、RSP = 0x{STACK_TOP:x}", file=out)

        print("--- ゲストの実行 ---", file=out)
        report = run_guest(vcpu, out)
        sregs = vcpu.get_sregs()
        if report.cr2 is not None and report.error_code is not None:
            print(f"ゲストのページフォールト: CR2 = 0x{report.cr2:x}、エラーコード = 0x{report.error_code:x}"
                  f"（{describe_error_code(report.error_code)}）", file=out)
            same = "同じ" if sregs.cr2 == report.cr2 else "違う"
            print(f"KVM_GET_SREGSで読んだCR2: 0x{sregs.cr2:x}（ゲストの報告と{same}）", file=out)
        written = WRITE_GPA + (GVA_WRITE & (PAGE_4K - 1))
        print(f"VMMから見たGPA 0x{written:x}の1バイト: 0x{memory.read(written, 1)[0]:02x}", file=out)

        print("--- アドレスごとの変換 ---", file=out)
        pagemap = Pagemap(stack)
        for gva, label in ADDRESSES:
            report_address(out, memory, tables, vcpu, pagemap, sregs.cr3, features["page1gb"], gva, label)
# --8<-- [end:main]


def describe_error_code(code: int) -> str:
    """ページフォールトのエラーコード（SDM §4.7、APM §8.4.2）。"""
    parts = [
        "P=1: 保護違反" if code & 1 else "P=0: ページがない",
        "W/R=1: 書き込み" if code & 2 else "W/R=0: 読み出し",
        "U/S=1: ユーザー" if code & 4 else "U/S=0: スーパーバイザー",
    ]
    if code & 8:
        parts.append("RSVD=1: 予約ビットが1")
    if code & 16:
        parts.append("I/D=1: 命令の読み出し")
    return "、".join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/dev/kvm", help="KVMのデバイスファイル（既定: /dev/kvm）")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: paging(args.device))


if __name__ == "__main__":
    sys.exit(main())
