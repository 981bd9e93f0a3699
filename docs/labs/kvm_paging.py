#!/usr/bin/env python3
"""Lab: a 64-bit guest and its page tables.

Extends the VMM of Lab 1 (kvm_hello.py) and runs the guest in long mode (64-bit).
This program (the VMM) builds the guest's page tables inside the guest's memory. The
guest reads and writes a few virtual addresses (GVAs) and reports what it read and how
a page fault looked through I/O ports. After the run, the VMM follows each address
through four translations:

    GVA --guest page tables--> GPA --memory slot--> HVA --host page tables--> HPA

    python3 kvm_paging.py                 # with kvm_hello.py in the same directory
    python3 kvm_paging.py --device PATH   # tries another device file

In the comments, "SDM §x" is a section of the Intel 64 and IA-32 Architectures Software
Developer's Manual Vol. 3A, "APM §x" of the AMD64 Architecture Programmer's Manual
Vol. 2, and "api.rst §x" of Linux's Documentation/virt/kvm/api.rst (numbers may shift
between versions). The program prints in the reader's language (Japanese or English,
from LC_ALL, LC_MESSAGES or LANG; MESSAGES, after the imports).
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import os
import struct
import signal
import sys
from contextlib import ExitStack
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
    "no-kvm-hello": {
        "ja": "エラー: kvm_hello.pyが見つかりません。ハンズオン1のkvm_hello.pyを、このファイルと同じディレクトリに置いてください。",
        "en": "error: kvm_hello.py not found. Save kvm_hello.py from Lab 1 in the same directory as this file.",
    },
    "list-separator": {"ja": "、", "en": ", "},
    # GuestMemory, PageTables, enter_long_mode()
    "no-slot": {"ja": "GPA 0x{gpa:x}にはメモリのスロットがありません",
                "en": "there is no memory slot at GPA 0x{gpa:x}"},
    "not-page-aligned": {"ja": "GVA 0x{gva:x}とGPA 0x{gpa:x}は、{kib} KiBのページの先頭になれません",
                         "en": "GVA 0x{gva:x} and GPA 0x{gpa:x} cannot be the start of a {kib} KiB page"},
    "sregs-refused": {
        "ja": "KVM_SET_SREGSが、ロングモードの設定を受け付けませんでした（{error}）。\n"
              "  - このKVMは、64ビットのゲストを動かせないのかもしれません。",
        "en": "KVM_SET_SREGS did not accept the long-mode settings ({error}).\n"
              "  - This KVM may be unable to run a 64-bit guest.",
    },
    # run_guest(), explain_stop()
    "note-value": {"ja": "ゲストが読んだ値", "en": "the value the guest read"},
    "note-cr2-low": {"ja": "CR2の下位32ビット", "en": "CR2, low 32 bits"},
    "note-cr2-high": {"ja": "CR2の上位32ビット", "en": "CR2, high 32 bits"},
    "note-error-code": {"ja": "ページフォールトのエラーコード", "en": "the page fault's error code"},
    "exit-out": {"ja": "KVM_EXIT_IO    OUT ポート0x{port:x}: 0x{value:08x}（{note}）",
                 "en": "KVM_EXIT_IO    OUT port 0x{port:x}: 0x{value:08x} ({note})"},
    "exit-mmio-write": {"ja": "KVM_EXIT_MMIO  書き込み GPA 0x{addr:x} len={len} data=0x{data:x}",
                        "en": "KVM_EXIT_MMIO  write GPA 0x{addr:x} len={len} data=0x{data:x}"},
    "exit-mmio-read": {"ja": "KVM_EXIT_MMIO  読み出し GPA 0x{addr:x} len={len} → 0を返す",
                       "en": "KVM_EXIT_MMIO  read  GPA 0x{addr:x} len={len} → returns 0"},
    "first-run-failed": {
        "ja": "\n  - 最初のKVM_RUNが{name}で戻りました。このKVMは、ページングの有効なロングモードのゲストを"
              "動かせないのかもしれません。",
        "en": "\n  - The first KVM_RUN returned with {name}. This KVM may be unable to run a long-mode guest "
              "with paging enabled.",
    },
    "triple-fault": {
        "ja": "\n  - ゲストが例外を処理できずに止まりました（トリプルフォールト）。ページテーブル、GDT、"
              "IDTの設定を確かめてください。",
        "en": "\n  - The guest stopped because it could not handle an exception (a triple fault). "
              "Check the page tables, the GDT and the IDT.",
    },
    # walk(), Pagemap
    "fault-not-present": {"ja": "{name}のエントリのP = 0", "en": "P = 0 in the {name} entry"},
    "fault-1g-reserved": {
        "ja": "PDPTのエントリのPS = 1（このゲストのCPUIDに1 GiBのページがないので予約ビット）",
        "en": "PS = 1 in the PDPT entry (a reserved bit: this guest's CPUID has no 1 GiB pages)",
    },
    "pagemap-unopenable": {"ja": "/proc/self/pagemapを開けません（{error}）",
                           "en": "cannot open /proc/self/pagemap ({error})"},
    "page-not-present": {"ja": "ページがメモリにありません（まだ触れていないか、スワップされた）",
                         "en": "the page is not in memory (not touched yet, or swapped out)"},
    "pfn-zero": {"ja": "PFNが0と読めました（CAP_SYS_ADMINのないプロセスには、カーネルがPFNを隠します）",
                 "en": "the PFN reads as 0 (the kernel hides PFNs from a process without CAP_SYS_ADMIN)"},
    # describe_host()
    "host-nested": {"ja": "、ホスト自身も仮想マシン（cpuinfoにhypervisor）",
                    "en": ", itself a virtual machine (hypervisor in cpuinfo)"},
    "host-intel": {"ja": "Intel VT-x（kvm_intel）{nested}", "en": "Intel VT-x (kvm_intel){nested}"},
    "host-amd": {"ja": "AMD-V（kvm_amd）{nested}", "en": "AMD-V (kvm_amd){nested}"},
    "host-pvm": {"ja": "PVM（kvm_pvm、{cpu}）{nested}", "en": "PVM (kvm_pvm, {cpu}){nested}"},
    "pvm-no-vmx": {"ja": "CPUにvmx/svmなし", "en": "no vmx/svm in the CPU"},
    "pvm-vmx": {"ja": "vmx/svmあり", "en": "vmx/svm in the CPU"},
    "host-unknown": {"ja": "不明（kvm_intel、kvm_amd、kvm_pvmのどれも読み込まれていない）{nested}",
                     "en": "unknown (none of kvm_intel, kvm_amd, kvm_pvm is loaded){nested}"},
    "stage-ept": {"ja": "EPT（ハードウェア）", "en": "EPT (hardware)"},
    "stage-npt": {"ja": "NPT（ハードウェア）", "en": "NPT (hardware)"},
    "stage-no-ept": {"ja": "シャドウページング（EPTは無効）", "en": "shadow paging (EPT disabled)"},
    "stage-no-npt": {"ja": "シャドウページング（NPTは無効）", "en": "shadow paging (NPT disabled)"},
    "stage-software": {"ja": "シャドウページング（ソフトウェア）", "en": "shadow paging (software)"},
    "stage-unknown": {"ja": "不明", "en": "unknown"},
    # ADDRESSES, report_address()
    "address-write-4k": {"ja": "4 KiBのページに書き込み", "en": "a write to a 4 KiB page"},
    "address-read-4k": {"ja": "4 KiBのページから読み出し", "en": "a read from a 4 KiB page"},
    "address-read-2m": {"ja": "2 MiBのページから読み出し", "en": "a read from a 2 MiB page"},
    "address-mmio": {"ja": "スロットのないGPAへの書き込み", "en": "a write to a GPA with no slot"},
    "address-unmapped": {"ja": "P = 0のページへの書き込み", "en": "a write to a page with P = 0"},
    "walk-title": {"ja": "GVA 0x{gva:x}（{label}）", "en": "GVA 0x{gva:x} ({label})"},
    "walk-fault": {"ja": "  Pythonのウォーク: 変換できない（{fault}）",
                   "en": "  Python's walk:    no translation ({fault})"},
    "walk-gpa": {"ja": "  Pythonのウォーク: GPA 0x{gpa:x}（{size}のページ）",
                 "en": "  Python's walk:    GPA 0x{gpa:x} ({size} page)"},
    "translate-invalid": {"ja": "valid = 0（変換できない）", "en": "valid = 0, no translation"},
    "translate-agrees": {"ja": "  KVM_TRANSLATE:    {answer}（Pythonのウォークと一致）",
                         "en": "  KVM_TRANSLATE:    {answer} (agrees with Python's walk)"},
    "translate-differs": {"ja": "  KVM_TRANSLATE:    {answer}（Pythonのウォークと不一致）",
                          "en": "  KVM_TRANSLATE:    {answer} (differs from Python's walk)"},
    "gpa-no-slot": {"ja": "  GPA → HVA:        スロットなし（このGPAへのアクセスはKVM_EXIT_MMIOでVMMに届く）",
                    "en": "  GPA → HVA:        no slot (an access to this GPA reaches the VMM as KVM_EXIT_MMIO)"},
    "gpa-to-hva": {"ja": "  GPA → HVA:        スロット{slot}（GPA 0x{gpa:x}〜がHVA 0x{base:x}〜） → HVA 0x{hva:x}",
                   "en": "  GPA → HVA:        slot {slot} (starts at GPA 0x{gpa:x}, HVA 0x{base:x}) → HVA 0x{hva:x}"},
    "references": {
        "ja": "  TLBミスのときの参照: ネイティブ{native}回、シャドウ{shadow}回、EPT/NPT {nested}回"
              "（ネステッドも{size}のページのとき）",
        "en": "  References on a TLB miss: native {native}, shadow {shadow}, EPT/NPT {nested} "
              "(with {size} pages in the nested tables too)",
    },
    # paging()
    "host": {"ja": "ホスト: {host}", "en": "Host: {host}"},
    "second-stage": {"ja": "GPA → HPAの変換: {how}", "en": "GPA → HPA translation: {how}"},
    "no-long-mode": {
        "ja": "このKVMは、ゲストにロングモード（64ビット）を提供していません"
              "（KVM_GET_SUPPORTED_CPUIDの0x80000001 EDXのビット29が0）。\n"
              "  - この実習のゲストは64ビットで動くので、このホストでは実行できません。",
        "en": "this KVM does not offer long mode (64-bit) to its guests "
              "(bit 29 of EDX for 0x80000001 in KVM_GET_SUPPORTED_CPUID is 0).\n"
              "  - This lab's guest runs in 64-bit mode, so it cannot run on this host.",
    },
    "yes": {"ja": "あり", "en": "yes"},
    "no": {"ja": "なし", "en": "no"},
    "guest-cpuid": {"ja": "ゲストのCPUID: ロングモード {lm}、NX {nx}、1 GiBのページ {page1gb}",
                    "en": "Guest CPUID: long mode {lm}, NX {nx}, 1 GiB pages {page1gb}"},
    "page-tables": {"ja": "ページテーブル: {listing}（CR3 = 0x{cr3:x}）",
                    "en": "Page tables: {listing} (CR3 = 0x{cr3:x})"},
    "long-mode-start": {"ja": "vCPU 0をロングモードで開始: RIP = 0x{rip:x}、RSP = 0x{rsp:x}",
                        "en": "vCPU 0 starts in long mode: RIP = 0x{rip:x}, RSP = 0x{rsp:x}"},
    "run-title": {"ja": "--- ゲストの実行 ---", "en": "--- Running the guest ---"},
    "guest-page-fault": {"ja": "ゲストのページフォールト: CR2 = 0x{cr2:x}、エラーコード = 0x{code:x}（{meaning}）",
                         "en": "Guest page fault: CR2 = 0x{cr2:x}, error code = 0x{code:x} ({meaning})"},
    "sregs-cr2-same": {"ja": "KVM_GET_SREGSで読んだCR2: 0x{cr2:x}（ゲストの報告と同じ）",
                       "en": "CR2 read with KVM_GET_SREGS: 0x{cr2:x} (the same as the guest reported)"},
    "sregs-cr2-differs": {"ja": "KVM_GET_SREGSで読んだCR2: 0x{cr2:x}（ゲストの報告と違う）",
                          "en": "CR2 read with KVM_GET_SREGS: 0x{cr2:x} (not what the guest reported)"},
    "vmm-byte": {"ja": "VMMから見たGPA 0x{gpa:x}の1バイト: 0x{value:02x}",
                 "en": "The byte at GPA 0x{gpa:x}, as the VMM sees it: 0x{value:02x}"},
    "walks-title": {"ja": "--- アドレスごとの変換 ---", "en": "--- Each address, translated ---"},
    # describe_error_code()
    "pf-protection": {"ja": "P=1: 保護違反", "en": "P=1: protection violation"},
    "pf-not-present": {"ja": "P=0: ページがない", "en": "P=0: page not present"},
    "pf-write": {"ja": "W/R=1: 書き込み", "en": "W/R=1: write"},
    "pf-read": {"ja": "W/R=0: 読み出し", "en": "W/R=0: read"},
    "pf-user": {"ja": "U/S=1: ユーザー", "en": "U/S=1: user"},
    "pf-supervisor": {"ja": "U/S=0: スーパーバイザー", "en": "U/S=0: supervisor"},
    "pf-reserved": {"ja": "RSVD=1: 予約ビットが1", "en": "RSVD=1: a reserved bit is 1"},
    "pf-fetch": {"ja": "I/D=1: 命令の読み出し", "en": "I/D=1: instruction fetch"},
    # parse_args()
    "description": {"ja": "ハンズオン: 64ビットのゲストとページテーブル。",
                    "en": "Lab: a 64-bit guest and its page tables."},
    "help-device": {"ja": "KVMのデバイスファイル（既定: /dev/kvm）",
                    "en": "the KVM device file (default: /dev/kvm)"},
}


# --8<-- [start:import]
try:  # keep kvm_hello.py in the same directory
    from kvm_hello import (  # use Lab 1's definitions as they are
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
    sys.exit(say("no-kvm-hello"))
# --8<-- [end:import]

# --8<-- [start:bits]
# ---- The bits of a page-table entry (4-level paging) ------------------------------------
# SDM §4.5, the tables "Format of a PML4 Entry" to "Format of a Page-Table Entry"; APM §5.4.1.
# An entry of any level is 8 bytes: flags in the low 12 bits and the top bit, and between
# them the physical address of the next table (or of the page). The physical addresses
# written in the guest's page tables are GPAs.
PTE_P = 1 << 0  # Present: 1 = valid; 0 = no translation beyond, and an access is a #PF (SDM §4.7)
PTE_RW = 1 << 1  # Read/Write: 0 = no writes; with CR0.WP = 1, not even by the kernel (CPL 0) (SDM §4.6)
PTE_US = 1 << 2  # User/Supervisor: 1 = user code (CPL 3) may use it; 0 here, as this guest runs at CPL 0 only
PTE_PWT = 1 << 3  # Page-level Write-Through: how writes are cached (SDM §4.9)
PTE_PCD = 1 << 4  # Page-level Cache Disable: 1 = not cached; used for device registers
PTE_A = 1 << 5  # Accessed: set to 1 when used for a translation; built as 0 (SDM §4.8)
PTE_D = 1 << 6  # Dirty: set to 1 when the page is written; only in entries that map a page (SDM §4.8)
PTE_PS = 1 << 7  # Page Size: 1 in a PDPTE maps a 1 GiB page, in a PDE a 2 MiB page, directly
PTE_NX = 1 << 63  # Execute-Disable (Intel: XD, AMD: NX): with EFER.NXE = 1, no instruction fetches
ADDR_MASK = 0x000F_FFFF_FFFF_F000  # bits 51-12: the physical address of the next table (or page)

FLAG_NAMES = (("P", PTE_P), ("RW", PTE_RW), ("US", PTE_US), ("PWT", PTE_PWT), ("PCD", PTE_PCD),
              ("A", PTE_A), ("D", PTE_D), ("PS", PTE_PS), ("NX", PTE_NX))

# Each level's name and which bits of the virtual address index it (9 bits = 512 entries per level)
LEVELS = (("PML4", 39), ("PDPT", 30), ("PD", 21), ("PT", 12))
PAGE_4K, PAGE_2M, PAGE_1G = 1 << 12, 1 << 21, 1 << 30
# --8<-- [end:bits]

# --8<-- [start:layout]
# ---- The guest's physical memory (GPA): two slots ----------------------------------------
LOW_GPA, LOW_SIZE = 0x0, PAGE_2M  # slot 0: page tables, GDT, IDT, code, stack, data
HIGH_GPA, HIGH_SIZE = 0x200000, PAGE_2M  # slot 1: the contents of one 2 MiB page
TABLES_GPA = 0x1000  # page tables from here on, 4 KiB each (PML4 first)
GDT_GPA = 0x8000
IDT_GPA = 0x9000
CODE_GPA = 0xA000
STACK_TOP = 0xC000  # the stack is 0xB000-0xBFFF (it grows downwards)

# ---- The guest's virtual addresses (GVA) and where they lead ------------------------------
# The four 4 KiB pages are at addresses chosen so that the indices are PML4 1, PDPT 2, PD 3, PT 4-7.
GVA_WRITE = 0x0000_0080_8060_4010  # a write to a 4 KiB page → GPA 0x153010
GVA_READ = 0x0000_0080_8060_5020  # a read from a 4 KiB page → GPA 0x178020
GVA_MMIO = 0x0000_0080_8060_6000  # a 4 KiB page → GPA 0x10000000 (no slot there)
GVA_UNMAPPED = 0x0000_0080_8060_7000  # the PT entry is 0 (P = 0) → a page fault
GVA_2M = 0x0000_0080_8081_2340  # PD entry 4 maps a 2 MiB page → GPA 0x212340
WRITE_GPA, READ_GPA, MMIO_GPA = 0x153000, 0x178000, 0x1000_0000
WRITE_VALUE = 0x5A  # the byte the guest writes to GVA_WRITE

PORT_VALUE = 0x10  # the port where the guest reports a value it read
PORT_CR2 = 0x11  # the page fault's CR2 (low 32 bits, then high 32 bits)
PORT_ERROR = 0x12  # the page fault's error code
# --8<-- [end:layout]


# --8<-- [start:memory]
@dataclass
class Slot:
    number: int
    gpa: int
    size: int
    mapping: Mapping  # memory of this process; mapping.addr is the HVA


class GuestMemory:
    """The guest's physical memory: finds the slot for a GPA to read or write it (api.rst §4.35)."""

    def __init__(self, stack: ExitStack, vm_fd: int, layout: list[tuple[int, int]]):
        self.slots = [
            Slot(number, gpa, size, add_memory(stack, vm_fd, slot=number, guest_phys_addr=gpa, size=size))
            for number, (gpa, size) in enumerate(layout)
        ]

    def slot_of(self, gpa: int) -> Slot | None:
        """The slot that holds gpa, or None (then an access to that GPA is a KVM_EXIT_MMIO)."""
        return next((s for s in self.slots if s.gpa <= gpa < s.gpa + s.size), None)

    def hva(self, gpa: int) -> int | None:
        """GPA → HVA: the slot's starting HVA + the position inside the slot."""
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
            raise KvmError(say("no-slot", gpa=gpa))
        return slot
# --8<-- [end:memory]


# --8<-- [start:tables]
class PageTables:
    """Builds 4-level page tables inside the guest's memory (SDM §4.5, APM §5.3).

    Each table is 4 KiB: 512 entries of 8 bytes. CR3 points to the top table (PML4); each
    entry points to a table of the next level, and an entry of the last level to a page.
    """

    TABLE_FLAGS = PTE_P | PTE_RW  # entries on the way down; the lower levels narrow the permissions

    def __init__(self, memory: GuestMemory, first_gpa: int):
        self.memory = memory
        self.next_gpa = first_gpa
        self.built: dict[int, int] = {}  # entry's GPA → the value we built (to see A/D change)
        self.tables: list[tuple[str, int]] = []  # (level name, the table's GPA)
        self.cr3 = self._new_table("PML4")

    def _new_table(self, name: str) -> int:
        gpa = self.next_gpa
        self.next_gpa += PAGE_4K
        self.memory.write(gpa, bytes(PAGE_4K))  # all 512 entries 0 (P = 0)
        self.tables.append((name, gpa))
        return gpa

    def _set(self, entry_gpa: int, value: int) -> None:
        self.memory.write_u64(entry_gpa, value)
        self.built[entry_gpa] = value

    def map(self, gva: int, gpa: int, size: int, flags: int) -> None:
        """Map size bytes (one page of 4 KiB, 2 MiB or 1 GiB) at gva to gpa."""
        if gva % size or gpa % size:  # a page starts at a multiple of its size
            raise KvmError(say("not-page-aligned", gva=gva, gpa=gpa, kib=size // 1024))
        leaf_level = {PAGE_1G: 1, PAGE_2M: 2, PAGE_4K: 3}[size]  # the level in LEVELS whose entry maps the page
        table = self.cr3
        for level, (name, shift) in enumerate(LEVELS):
            entry_gpa = table + 8 * ((gva >> shift) & 0x1FF)  # index × 8 bytes
            if level == leaf_level:  # the entry that maps the page; PS = 1 if larger than 4 KiB
                self._set(entry_gpa, gpa | flags | (PTE_PS if size > PAGE_4K else 0))
                return
            entry = self.memory.read_u64(entry_gpa)
            if not entry & PTE_P:  # no table of the next level yet: make one and link it
                entry = self._new_table(LEVELS[level + 1][0]) | self.TABLE_FLAGS
                self._set(entry_gpa, entry)
            table = entry & ADDR_MASK


def build_page_tables(memory: GuestMemory) -> PageTables:
    tables = PageTables(memory, TABLES_GPA)
    # GVA 0-2 MiB to GPA 0-2 MiB as they are (identity mapping): the code, stack and GDT live here
    tables.map(0x0, 0x0, PAGE_2M, PTE_P | PTE_RW)
    # the data pages, none of them executable (NX)
    tables.map(GVA_WRITE & ~(PAGE_4K - 1), WRITE_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_NX)
    tables.map(GVA_READ & ~(PAGE_4K - 1), READ_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_NX)
    # a page meant for a device: not cached (PCD, PWT); there is no slot at its GPA
    tables.map(GVA_MMIO, MMIO_GPA, PAGE_4K, PTE_P | PTE_RW | PTE_PWT | PTE_PCD | PTE_NX)
    # a 2 MiB page: the PD entry has PS = 1 and points to the page (slot 1) directly
    tables.map(GVA_2M & ~(PAGE_2M - 1), HIGH_GPA, PAGE_2M, PTE_P | PTE_RW | PTE_NX)
    # nothing for GVA_UNMAPPED: entry 7 of the same PT stays 0 (P = 0)
    return tables
# --8<-- [end:tables]


# --8<-- [start:descriptors]
# ---- GDT and IDT (both in the guest's memory) --------------------------------------------
CODE_SELECTOR, DATA_SELECTOR = 0x08, 0x10  # GDT entries 1 and 2 (× 8 bytes)


def long_mode_segments() -> tuple[KvmSegment, KvmSegment]:
    """A 64-bit code segment and a data segment (SDM §3.4.5, §5.2.1)."""
    code = KvmSegment(base=0, limit=0xFFFFFFFF, selector=CODE_SELECTOR, type=0xB, present=1,
                      dpl=0, db=0, s=1, l=1, g=1)  # type 0xB = execute/read, accessed; L = 1: 64-bit
    data = KvmSegment(base=0, limit=0xFFFFFFFF, selector=DATA_SELECTOR, type=0x3, present=1,
                      dpl=0, db=1, s=1, l=0, g=1)  # type 0x3 = read/write, accessed
    return code, data


def gdt_descriptor(seg: KvmSegment) -> bytes:
    """The 8-byte segment descriptor for the GDT with the same values as seg (SDM §3.4.5)."""
    limit = seg.limit >> 12 if seg.g else seg.limit  # in 4 KiB units when G = 1
    access = seg.type | (seg.s << 4) | (seg.dpl << 5) | (seg.present << 7)
    flags = (seg.avl << 0) | (seg.l << 1) | (seg.db << 2) | (seg.g << 3)
    value = ((limit & 0xFFFF) | ((seg.base & 0xFFFFFF) << 16) | (access << 40)
             | (((limit >> 16) & 0xF) << 48) | (flags << 52) | (((seg.base >> 24) & 0xFF) << 56))
    return value.to_bytes(8, "little")


def idt_gate(handler: int, selector: int) -> bytes:
    """An IDT entry in 64-bit mode (16 bytes, SDM §6.14.1): an interrupt gate."""
    type_attr = 0x8E  # P = 1, DPL = 0, type 0xE = 64-bit interrupt gate
    return struct.pack("<HHBBHII", handler & 0xFFFF, selector, 0, type_attr,
                       (handler >> 16) & 0xFFFF, handler >> 32, 0)
# --8<-- [end:descriptors]


# --8<-- [start:guest]
# ---- The guest's code (64-bit mode, CPL 0) ---------------------------------------------
# The assembly (GNU as .code64, Intel syntax) and its machine code, from GVA = GPA = 0xA000.
# The numbers in the assembly are the constants defined above (GVA_WRITE, the ports, ...).
def q(value: int) -> bytes:  # a 64-bit immediate (little-endian)
    return value.to_bytes(8, "little")


GUEST_ASM = """\
start:  movabs rbx, 0x8080604010    ; GVA_WRITE (a 4 KiB page)
        mov byte ptr [rbx], 0x5a    ; write → A and D in the PTE
        movabs rbx, 0x8080605020    ; GVA_READ (a 4 KiB page)
        mov eax, dword ptr [rbx]    ; read → only A in the PTE
        out 0x10, eax               ; report the value read → KVM_EXIT_IO
        movabs rbx, 0x8080812340    ; GVA_2M (a 2 MiB page)
        mov eax, dword ptr [rbx]
        out 0x10, eax
        movabs rbx, 0x8080606000    ; GVA_MMIO (no slot at its GPA)
        mov byte ptr [rbx], 0x42    ; → KVM_EXIT_MMIO
        movabs rbx, 0x8080607000    ; GVA_UNMAPPED (P = 0 in the PTE)
        mov byte ptr [rbx], 0x1     ; → a page fault (vector 14)
        hlt                         ; (never reached)
pf:     mov rax, cr2                ; the exception handler: CR2 = the GVA that faulted
        out 0x11, eax               ; low 32 bits
        shr rax, 32
        out 0x11, eax               ; high 32 bits
        mov eax, dword ptr [rsp]    ; the top of the stack = the error code
        out 0x12, eax
        hlt                         ; → KVM_EXIT_HLT
"""
GUEST_MAIN = b"".join([
    b"\x48\xBB" + q(GVA_WRITE),          # start: movabs rbx, GVA_WRITE (48 = REX.W, BB = B8 + 3, RBX's number)
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
PF_HANDLER = CODE_GPA + len(GUEST_MAIN)  # the address of label pf (goes into IDT entry 14)
PF_VECTOR = 14


def write_guest(memory: GuestMemory) -> None:
    """Write the GDT, the IDT, the code and the markers to be read into the guest's memory."""
    code, data = long_mode_segments()
    memory.write(GDT_GPA, bytes(8) + gdt_descriptor(code) + gdt_descriptor(data))  # entry 0 is empty
    memory.write(IDT_GPA + 16 * PF_VECTOR, idt_gate(PF_HANDLER, CODE_SELECTOR))
    memory.write(CODE_GPA, GUEST_CODE)
    # put a marker where the guest reads: that place's own GPA, so the value reported shows where it read
    for gpa in (READ_GPA + (GVA_READ & 0xFFF), HIGH_GPA + (GVA_2M & (PAGE_2M - 1))):
        memory.write(gpa, gpa.to_bytes(4, "little"))
# --8<-- [end:guest]


# --8<-- [start:cpuid]
# ---- The CPUID the guest sees (api.rst §4.46 KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2) ------
u32 = ctypes.c_uint32


class KvmCpuidEntry2(ctypes.Structure):
    """struct kvm_cpuid_entry2: the answer for one CPUID function (and index)."""

    _fields_ = [("function", u32), ("index", u32), ("flags", u32),
                ("eax", u32), ("ebx", u32), ("ecx", u32), ("edx", u32), ("padding", u32 * 3)]


MAX_CPUID_ENTRIES = 256  # enough (the KVM of the course's machine returned 75)


class KvmCpuid2(ctypes.Structure):
    """struct kvm_cpuid2: an 8-byte header (the number of entries), then the entries."""

    _fields_ = [("nent", u32), ("padding", u32), ("entries", KvmCpuidEntry2 * MAX_CPUID_ENTRIES)]


def _iowr(nr: int, size: int) -> int:  # _IOWR: the kernel reads and writes back (<asm-generic/ioctl.h>)
    return (3 << 30) | (size << 16) | (KVMIO << 8) | nr


KVM_GET_SUPPORTED_CPUID = _iowr(0x05, 8)  # system ioctl; the size in the number is the 8-byte header
KVM_SET_CPUID2 = (1 << 30) | (8 << 16) | (KVMIO << 8) | 0x90  # vCPU ioctl (_IOW)
# EDX of CPUID function 0x80000001 (Intel SDM Vol. 2A, "CPUID"; Linux's cpufeatures.h)
CPUID_EXT = 0x80000001
EDX_NX, EDX_PAGE1GB, EDX_LM = 1 << 20, 1 << 26, 1 << 29


def set_cpuid(kvm_fd: int, vcpu: Vcpu) -> dict[str, bool]:
    """Give the guest, as its CPUID, every feature that KVM and this CPU can offer.

    When KVM walks the guest's page tables in software (shadow paging, instruction
    emulation, KVM_TRANSLATE), it too decides the reserved bits of an entry from the
    guest's CPUID: a 1 GiB page, for example, is valid only if CPUID shows them.
    """
    cpuid = KvmCpuid2(nent=MAX_CPUID_ENTRIES)  # KVM sets nent to the number it wrote
    fcntl.ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid)
    fcntl.ioctl(vcpu.fd, KVM_SET_CPUID2, cpuid)
    ext = next((e for e in cpuid.entries[: cpuid.nent] if e.function == CPUID_EXT), None)
    edx = ext.edx if ext else 0
    return {"lm": bool(edx & EDX_LM), "nx": bool(edx & EDX_NX), "page1gb": bool(edx & EDX_PAGE1GB)}
# --8<-- [end:cpuid]


# --8<-- [start:long-mode]
# ---- Control registers for long mode (SDM §2.5, §2.2.1, §9.8.5) ----------------------------
CR0_PE = 1 << 0  # protected mode
CR0_WP = 1 << 16  # Write Protect: no writes to RW = 0 pages, even at CPL 0
CR0_PG = 1 << 31  # paging
CR4_PAE = 1 << 5  # Physical Address Extension: 8-byte entries (long mode needs it)
EFER_LME = 1 << 8  # Long Mode Enable
EFER_LMA = 1 << 10  # Long Mode Active (the CPU sets it; with KVM_SET_SREGS we write it ourselves)
EFER_NXE = 1 << 11  # use bit 63 (NX) of the entries


def enter_long_mode(vcpu: Vcpu, cr3: int) -> None:
    """Start the vCPU at CODE_GPA in 64-bit mode with paging enabled.

    A real OS goes from real mode through protected mode into long mode (SDM §9.8.5).
    With KVM we skip those steps and write the final state with KVM_SET_SREGS (api.rst §4.14).
    """
    sregs = vcpu.get_sregs()
    sregs.cs, data = long_mode_segments()
    sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data
    sregs.gdt.base, sregs.gdt.limit = GDT_GPA, 3 * 8 - 1
    sregs.idt.base, sregs.idt.limit = IDT_GPA, 16 * (PF_VECTOR + 1) - 1
    sregs.cr3 = cr3  # the GPA of the PML4 table
    sregs.cr4 = CR4_PAE
    sregs.cr0 = CR0_PE | CR0_WP | CR0_PG
    sregs.efer = EFER_LME | EFER_LMA | EFER_NXE
    try:
        vcpu.set_sregs(sregs)
    except OSError as e:
        raise KvmError(say("sregs-refused", error=e.strerror)) from None
    regs = KvmRegs(rip=CODE_GPA, rsp=STACK_TOP, rflags=0x2)  # IF = 0: no interrupts
    vcpu.set_regs(regs)
# --8<-- [end:long-mode]


# --8<-- [start:loop]
@dataclass
class GuestReport:
    values: list[int] = field(default_factory=list)  # values reported on port 0x10
    cr2_parts: list[int] = field(default_factory=list)  # port 0x11 (low, high)
    error_code: int | None = None  # port 0x12
    mmio: list[tuple[int, int, bool]] = field(default_factory=list)  # (GPA, length, a write?)

    @property
    def cr2(self) -> int | None:
        if len(self.cr2_parts) < 2:
            return None
        return self.cr2_parts[0] | (self.cr2_parts[1] << 32)


def run_guest(vcpu: Vcpu, out) -> GuestReport:
    """Run the guest until HLT, printing the I/O port and MMIO exits."""
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
                note = say("note-value")
            elif port == PORT_CR2:
                report.cr2_parts.append(value)
                note = say("note-cr2-low" if len(report.cr2_parts) == 1 else "note-cr2-high")
            else:
                report.error_code = value
                note = say("note-error-code")
            print(say("exit-out", port=port, value=value, note=note), file=out)
        elif reason == KVM_EXIT_MMIO:
            mmio = run.mmio
            report.mmio.append((mmio.phys_addr, mmio.len, bool(mmio.is_write)))
            if mmio.is_write:
                data = int.from_bytes(bytes(mmio.data[: mmio.len]), "little")
                print(say("exit-mmio-write", addr=mmio.phys_addr, len=mmio.len, data=data), file=out)
            else:  # answer a read with 0 (this program's guest does not read)
                mmio.data[: mmio.len] = bytes(mmio.len)
                print(say("exit-mmio-read", addr=mmio.phys_addr, len=mmio.len), file=out)
        elif reason == KVM_EXIT_HLT:
            print("KVM_EXIT_HLT", file=out)
            return report
        else:
            raise KvmError(describe_exit(vcpu) + explain_stop(reason, report))


def explain_stop(reason: int, report: GuestReport) -> str:
    """Add to an unexpected exit the usual reasons for it with a long-mode guest."""
    started = report.values or report.mmio or report.cr2_parts
    if reason in (KVM_EXIT_FAIL_ENTRY, KVM_EXIT_INTERNAL_ERROR) and not started:
        return say("first-run-failed", name=exit_reason_name(reason))
    if exit_reason_name(reason) == "KVM_EXIT_SHUTDOWN":
        return say("triple-fault")
    return ""
# --8<-- [end:loop]


# --8<-- [start:walk]
@dataclass
class Step:
    name: str  # the level's name (PML4, PDPT, PD, PT)
    index: int  # the index in the table (0-511)
    entry_gpa: int  # the entry's GPA = the table's GPA + index × 8
    entry: int  # its value now
    built: int  # its value when the VMM built it
    leaf: bool  # whether the entry maps a page


@dataclass
class Walk:
    gva: int
    steps: list[Step]
    gpa: int | None = None  # None without a translation (an access to the address is a page fault)
    page_size: int | None = None
    fault: str | None = None  # why there is no translation


def walk(memory: GuestMemory, tables: PageTables, cr3: int, gva: int, page1gb: bool) -> Walk:
    """Walk the guest's page tables in Python, in the same steps as the CPU (SDM §4.5)."""
    steps: list[Step] = []
    table = cr3 & ADDR_MASK
    for level, (name, shift) in enumerate(LEVELS):
        index = (gva >> shift) & 0x1FF  # the 9 bits of the GVA this level uses
        entry_gpa = table + 8 * index
        entry = memory.read_u64(entry_gpa)
        leaf = level == len(LEVELS) - 1 or (name in ("PDPT", "PD") and bool(entry & PTE_PS))
        steps.append(Step(name, index, entry_gpa, entry, tables.built.get(entry_gpa, 0), leaf))
        if not entry & PTE_P:  # P = 0: the translation ends here (the #PF error code has P = 0)
            return Walk(gva, steps, fault=say("fault-not-present", name=name))
        if name == "PDPT" and leaf and not page1gb:  # without 1 GiB pages in the CPU, PS is a reserved bit
            return Walk(gva, steps, fault=say("fault-1g-reserved"))
        if leaf:
            size = 1 << shift  # 4 KiB for PT, 2 MiB for PD, 1 GiB for PDPT
            gpa = (entry & ADDR_MASK & ~(size - 1)) | (gva & (size - 1))  # the page's start + the offset in it
            return Walk(gva, steps, gpa, size)
        table = entry & ADDR_MASK  # the GPA of the next level's table
    raise AssertionError("unreachable")


def flag_names(entry: int, leaf: bool) -> str:
    """The names of an entry's flags. D and PS mean something only in an entry that maps a page (ignored on the way)."""
    return " ".join(name for name, bit in FLAG_NAMES
                    if entry & bit and (leaf or name not in ("D", "PS")))
# --8<-- [end:walk]


# --8<-- [start:translate]
class KvmTranslation(ctypes.Structure):
    """struct kvm_translation (api.rst §4.15 KVM_TRANSLATE)."""

    _fields_ = [
        ("linear_address", ctypes.c_uint64),  # in: the GVA
        ("physical_address", ctypes.c_uint64),  # out: the GPA
        ("valid", ctypes.c_uint8),  # out: 1 if there is a translation
        ("writeable", ctypes.c_uint8),  # out (KVM on x86 always returns 1)
        ("usermode", ctypes.c_uint8),  # out (KVM on x86 always returns 0)
        ("pad", ctypes.c_uint8 * 5),
    ]


# _IOWR: the kernel reads the structure and writes it back (direction = both, <asm-generic/ioctl.h>)
KVM_TRANSLATE = (3 << 30) | (ctypes.sizeof(KvmTranslation) << 16) | (KVMIO << 8) | 0x85  # vCPU ioctl


def kvm_translate(vcpu: Vcpu, gva: int) -> int | None:
    """Have KVM translate gva with the vCPU's current settings. The result is a GPA (not an HPA)."""
    tr = KvmTranslation(linear_address=gva)
    fcntl.ioctl(vcpu.fd, KVM_TRANSLATE, tr)
    return tr.physical_address if tr.valid else None
# --8<-- [end:translate]


# --8<-- [start:pagemap]
PAGEMAP_PRESENT = 1 << 63  # the page is in memory (Documentation/admin-guide/mm/pagemap.rst)
PAGEMAP_PFN_MASK = (1 << 55) - 1  # bits 54-0: the physical page's number (PFN)


class Pagemap:
    """/proc/self/pagemap: 8 bytes (the PFN and more) per virtual page of this process."""

    def __init__(self, stack: ExitStack):
        try:
            self.fd = os.open("/proc/self/pagemap", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            self.fd, self.error = None, e.strerror
        else:
            stack.callback(os.close, self.fd)
            self.error = None

    def hpa(self, hva: int) -> tuple[int | None, str]:
        """HVA → HPA, or (None, why not)."""
        if self.fd is None:
            return None, say("pagemap-unopenable", error=self.error)
        entry = int.from_bytes(os.pread(self.fd, 8, (hva // PAGE_4K) * 8), "little")
        if not entry & PAGEMAP_PRESENT:
            return None, say("page-not-present")
        pfn = entry & PAGEMAP_PFN_MASK
        if pfn == 0:  # since Linux 4.2, a process without CAP_SYS_ADMIN sees PFNs as 0
            return None, say("pfn-zero")
        return pfn * PAGE_4K + hva % PAGE_4K, f"PFN 0x{pfn:x}"
# --8<-- [end:pagemap]


# --8<-- [start:count]
# ---- Memory references of a page walk on a TLB miss ------------------------------------------
# The same rule as the widget on /memory/: the final data access is not counted. With n guest
# levels and m levels of nested page tables (EPT/NPT), native and shadow paging take n references,
# EPT/NPT (n+1)(m+1)−1. As in the widget, the nested tables use pages of the guest's size
# (from 4 levels: one fewer for 2 MiB, two fewer for 1 GiB).
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
    """Find the kind of host and how the second stage translates, from KVM's vendor module."""
    cpuinfo = read_text("/proc/cpuinfo") or ""
    flags = next((line.split(":", 1)[1].split() for line in cpuinfo.splitlines() if line.startswith("flags")), [])
    nested = say("host-nested") if "hypervisor" in flags else ""
    if os.path.isdir("/sys/module/kvm_intel"):
        ept = read_text("/sys/module/kvm_intel/parameters/ept") in ("Y", "1")
        return say("host-intel", nested=nested), say("stage-ept" if ept else "stage-no-ept")
    if os.path.isdir("/sys/module/kvm_amd"):
        npt = read_text("/sys/module/kvm_amd/parameters/npt") in ("Y", "1")
        return say("host-amd", nested=nested), say("stage-npt" if npt else "stage-no-npt")
    if os.path.isdir("/sys/module/kvm_pvm"):
        cpu = say("pvm-no-vmx" if not {"vmx", "svm"} & set(flags) else "pvm-vmx")
        return say("host-pvm", cpu=cpu, nested=nested), say("stage-software")
    return say("host-unknown", nested=nested), say("stage-unknown")
# --8<-- [end:host]


# --8<-- [start:report]
ADDRESSES = (  # (GVA, its message); after the run, each is followed from GVA to HPA, in this order
    (GVA_WRITE, "address-write-4k"),
    (GVA_READ, "address-read-4k"),
    (GVA_2M, "address-read-2m"),
    (GVA_MMIO, "address-mmio"),
    (GVA_UNMAPPED, "address-unmapped"),
)
SIZE_NAMES = {PAGE_4K: "4 KiB", PAGE_2M: "2 MiB", PAGE_1G: "1 GiB"}


def report_address(out, memory: GuestMemory, tables: PageTables, vcpu: Vcpu, pagemap: Pagemap,
                   cr3: int, page1gb: bool, gva: int, label: str) -> Walk:
    # ① GVA → GPA: walk the guest's page tables in Python, reading them before KVM_TRANSLATE
    #   (KVM_TRANSLATE may set A in the entries it walks)
    result = walk(memory, tables, cr3, gva, page1gb)
    translated = kvm_translate(vcpu, gva)
    print(say("walk-title", gva=gva, label=label), file=out)
    for s in result.steps:
        change = f"0x{s.built:016x} → 0x{s.entry:016x}" if s.entry != s.built else f"0x{s.entry:016x}"
        line = f"  {s.name + f'[{s.index}]':<8} GPA 0x{s.entry_gpa:<5x} {change:<40}  {flag_names(s.entry, s.leaf)}"
        print(line.rstrip(), file=out)
    if result.gpa is None:
        print(say("walk-fault", fault=result.fault), file=out)
    else:
        print(say("walk-gpa", gpa=result.gpa, size=SIZE_NAMES[result.page_size]), file=out)
    agree = "translate-agrees" if translated == result.gpa else "translate-differs"
    answer = f"GPA 0x{translated:x}" if translated is not None else say("translate-invalid")
    print(say(agree, answer=answer), file=out)
    if result.gpa is None:
        return result
    # ② GPA → HVA: computed from the memory slots the VMM itself registered
    slot = memory.slot_of(result.gpa)
    if slot is None:
        print(say("gpa-no-slot"), file=out)
        return result
    hva = memory.hva(result.gpa)
    print(say("gpa-to-hva", slot=slot.number, gpa=slot.gpa, base=slot.mapping.addr, hva=hva), file=out)
    # ③ HVA → HPA: the host's page tables (/proc/self/pagemap)
    hpa, how = pagemap.hpa(hva)
    print(f"  HVA → HPA:        {how}" + (f" → HPA 0x{hpa:x}" if hpa is not None else ""), file=out)
    # ④ how many memory references this walk takes on a TLB miss
    counts = references_for(result.page_size)
    size = SIZE_NAMES[result.page_size]
    print(say("references", native=counts["native"], shadow=counts["shadow"], nested=counts["nested"],
              size=size), file=out)
    return result
# --8<-- [end:report]


# --8<-- [start:main]
def paging(device: str, out=None) -> None:
    out = out or sys.stdout
    with ExitStack() as stack:  # every fd and mmap is closed, even after a failure
        kvm_fd = open_kvm(device)
        stack.callback(os.close, kvm_fd)
        check_api_version(kvm_fd)
        host, second_stage = describe_host()
        print(say("host", host=host), file=out)
        print(say("second-stage", how=second_stage), file=out)

        vm_fd = create_vm(stack, kvm_fd)
        memory = GuestMemory(stack, vm_fd, [(LOW_GPA, LOW_SIZE), (HIGH_GPA, HIGH_SIZE)])
        tables = build_page_tables(memory)
        write_guest(memory)
        vcpu = Vcpu(stack, kvm_fd, vm_fd)
        features = set_cpuid(kvm_fd, vcpu)
        if not features["lm"]:
            raise KvmError(say("no-long-mode"))
        yes = {True: say("yes"), False: say("no")}
        print(say("guest-cpuid", lm=yes[features["lm"]], nx=yes[features["nx"]],
                  page1gb=yes[features["page1gb"]]), file=out)
        enter_long_mode(vcpu, tables.cr3)
        listing = say("list-separator").join(f"{name} 0x{gpa:x}" for name, gpa in tables.tables)
        print(say("page-tables", listing=listing, cr3=tables.cr3), file=out)
        print(say("long-mode-start", rip=CODE_GPA, rsp=STACK_TOP), file=out)

        print(say("run-title"), file=out)
        report = run_guest(vcpu, out)
        sregs = vcpu.get_sregs()
        if report.cr2 is not None and report.error_code is not None:
            print(say("guest-page-fault", cr2=report.cr2, code=report.error_code,
                      meaning=describe_error_code(report.error_code)), file=out)
            same = "sregs-cr2-same" if sregs.cr2 == report.cr2 else "sregs-cr2-differs"
            print(say(same, cr2=sregs.cr2), file=out)
        written = WRITE_GPA + (GVA_WRITE & (PAGE_4K - 1))
        print(say("vmm-byte", gpa=written, value=memory.read(written, 1)[0]), file=out)

        print(say("walks-title"), file=out)
        pagemap = Pagemap(stack)
        for gva, label in ADDRESSES:
            report_address(out, memory, tables, vcpu, pagemap, sregs.cr3, features["page1gb"], gva, say(label))
# --8<-- [end:main]


def describe_error_code(code: int) -> str:
    """A page fault's error code in words (SDM §4.7, APM §8.4.2)."""
    parts = [
        say("pf-protection") if code & 1 else say("pf-not-present"),
        say("pf-write") if code & 2 else say("pf-read"),
        say("pf-user") if code & 4 else say("pf-supervisor"),
    ]
    if code & 8:
        parts.append(say("pf-reserved"))
    if code & 16:
        parts.append(say("pf-fetch"))
    return say("list-separator").join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=say("description"))
    parser.add_argument("--device", default="/dev/kvm", help=say("help-device"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: paging(args.device))


if __name__ == "__main__":
    # Piped into head or less: end quietly, as other command-line tools do.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
