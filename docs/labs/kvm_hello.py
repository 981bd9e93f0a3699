#!/usr/bin/env python3
"""Lab 1: a minimal VM from Python with the KVM API.

Opens /dev/kvm, creates a VM and a vCPU, and runs 16 bytes of real-mode code placed
in 4 KiB of guest memory. The guest writes characters to an I/O port one byte at a
time; this program (the user-space VMM) receives each KVM_EXIT_IO and prints it.
It ends when the guest executes HLT.

    python3 kvm_hello.py                 # uses /dev/kvm
    python3 kvm_hello.py --device PATH   # tries another device file

Standard library only (Python 3.11 or later, Linux on x86-64). The structures and
ioctl numbers are those of Linux's <linux/kvm.h>. "api.rst §x" in a comment is a
section of the kernel's Documentation/virt/kvm/api.rst
(https://docs.kernel.org/virt/kvm/api.html), as numbered in Linux 6.12; numbers may
shift between versions, so search for the ioctl's name if one is not there.

The program prints in the reader's language: Japanese when the locale (LC_ALL,
LC_MESSAGES or LANG) selects Japanese, English otherwise (MESSAGES, after the imports).
Importing it does nothing; Lab 2 (kvm_exits.py) uses its definitions.
"""

from __future__ import annotations

import argparse
import ctypes
import fcntl
import mmap
import os
import platform
import signal
import sys
import traceback
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
    # hello(): what the program prints
    "api-version": {"ja": "KVM APIのバージョン: {version}",
                    "en": "KVM API version: {version}"},
    "guest-memory": {"ja": "ゲストのメモリ: GPA 0x{start:x}〜0x{end:x}（{size}バイト、スロット0）",
                     "en": "Guest memory: GPA 0x{start:x}-0x{end:x} ({size} bytes, slot 0)"},
    "real-mode-start": {"ja": "vCPU 0をリアルモードで開始: CS:IP = 0000:{ip:04x}",
                        "en": "vCPU 0 starts in real mode: CS:IP = 0000:{ip:04x}"},
    "guest-output": {"ja": "--- ゲストの出力（ポート0x{port:x}） ---",
                     "en": "--- Guest output (port 0x{port:x}) ---"},
    "guest-output-end": {"ja": "--- ここまで ---",
                         "en": "--- End of guest output ---"},
    "exit-counts": {"ja": "KVM_EXIT_IO: {io}回、KVM_EXIT_HLT: {hlt}回（HLTの次の命令 RIP = 0x{rip:x}）",
                    "en": "KVM_EXIT_IO: {io} times, KVM_EXIT_HLT: {hlt} time (RIP = 0x{rip:x}, "
                          "the instruction after HLT)"},
    # open_kvm(), check_api_version(), Mapping
    "not-x86-64": {"ja": "このプログラムはx86-64のLinux用です（このマシンは{machine}）。",
                   "en": "this program is for Linux on x86-64 (this machine is {machine})."},
    "no-device": {
        "ja": "{path}がありません。KVMが使えない環境です。\n"
              "  - BIOS/UEFIの設定でIntel VT-xまたはAMD-Vを有効にしてください。\n"
              "  - カーネルモジュールを読み込んでください: sudo modprobe kvm-intel（AMDならkvm-amd）\n"
              "  - 仮想マシンの中なら、ネステッド仮想化を有効にしたVMが必要です。",
        "en": "{path} does not exist: KVM is not available here.\n"
              "  - Enable Intel VT-x or AMD-V in the BIOS/UEFI settings.\n"
              "  - Load the kernel module: sudo modprobe kvm-intel (kvm-amd on AMD)\n"
              "  - Inside a virtual machine, you need a VM with nested virtualization enabled.",
    },
    "no-permission": {
        "ja": "{path}を開く権限がありません。\n"
              "  - 所有グループと権限を確かめてください: ls -l {path}\n"
              "  - そのグループ（kvmグループなど）に自分を加え、ログインし直してください: sudo usermod -aG kvm $USER",
        "en": "you do not have permission to open {path}.\n"
              "  - Check its group and mode: ls -l {path}\n"
              "  - Add yourself to that group (such as the kvm group) and log in again: sudo usermod -aG kvm $USER",
    },
    "api-version-mismatch": {
        "ja": "KVM APIのバージョンが{version}です。このプログラムは{expected}を前提にしています。\n"
              "  - 2.6.22より古いカーネルのKVMです。新しいカーネルで試してください。",
        "en": "the KVM API version is {version}; this program expects {expected}.\n"
              "  - This is the KVM of a kernel older than 2.6.22. Try a newer kernel.",
    },
    "outside-area": {"ja": "{size}バイトの領域の外です: オフセット{offset}から{length}バイト",
                     "en": "outside the {size}-byte area: {length} bytes from offset {offset}"},
    # describe_exit()
    "unexpected-exit": {"ja": "想定外のexitです: {name}（{number}）",
                        "en": "unexpected exit: {name} ({number})"},
    "mmio-write": {"ja": "  MMIOの書き込み phys_addr=0x{phys_addr:x} len={len}",
                   "en": "  MMIO write phys_addr=0x{phys_addr:x} len={len}"},
    "mmio-read": {"ja": "  MMIOの読み出し phys_addr=0x{phys_addr:x} len={len}",
                  "en": "  MMIO read phys_addr=0x{phys_addr:x} len={len}"},
    "fail-entry": {"ja": "  ゲストに入れませんでした: hardware_entry_failure_reason=0x{reason:x} cpu={cpu}",
                   "en": "  could not enter the guest: hardware_entry_failure_reason=0x{reason:x} cpu={cpu}"},
    "internal-error": {"ja": "  KVMの内部エラー: suberror={suberror} ndata={ndata} data=[{data}]",
                       "en": "  KVM internal error: suberror={suberror} ndata={ndata} data=[{data}]"},
    "registers-unreadable": {"ja": "  （レジスターを読めませんでした: {error}）",
                             "en": "  (could not read the registers: {error})"},
    # parse_args(), report_errors()
    "description": {"ja": "ハンズオン1: PythonからKVM APIで最小のVMを動かす。",
                    "en": "Lab 1: a minimal VM from Python with the KVM API."},
    "help-device": {"ja": "KVMのデバイスファイル（既定: /dev/kvm）",
                    "en": "the KVM device file (default: /dev/kvm)"},
    "error": {"ja": "エラー: {message}",
              "en": "error: {message}"},
    "system-call-failed": {"ja": "エラー: システムコールが失敗しました: {error}\n"
                                 "  場所: {file} {line}行目: {code}",
                           "en": "error: a system call failed: {error}\n"
                                 "  at: {file} line {line}: {code}"},
    "interrupted": {"ja": "中断しました。",
                    "en": "Interrupted."},
}


# --8<-- [start:structs]
# ---- Structures of <linux/kvm.h> (x86-64) --------------------------------------
u8, u16, u32, u64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64


class KvmUserspaceMemoryRegion(ctypes.Structure):
    """struct kvm_userspace_memory_region (api.rst §4.35)."""

    _fields_ = [
        ("slot", u32),  # the slot number
        ("flags", u32),  # 0 = ordinary memory the guest may read and write
        ("guest_phys_addr", u64),  # the physical address the guest sees (GPA)
        ("memory_size", u64),  # in bytes
        ("userspace_addr", u64),  # where that memory is in this process (a virtual address)
    ]


class KvmRegs(ctypes.Structure):
    """struct kvm_regs: the general-purpose registers (api.rst §4.11 KVM_GET_REGS)."""

    _fields_ = [
        (name, u64)
        for name in "rax rbx rcx rdx rsi rdi rsp rbp r8 r9 r10 r11 r12 r13 r14 r15 rip rflags".split()
    ]


class KvmSegment(ctypes.Structure):
    """struct kvm_segment: one segment register (asm/kvm.h)."""

    _fields_ = [
        ("base", u64), ("limit", u32), ("selector", u16), ("type", u8),
        ("present", u8), ("dpl", u8), ("db", u8), ("s", u8), ("l", u8),
        ("g", u8), ("avl", u8), ("unusable", u8), ("padding", u8),
    ]


class KvmDtable(ctypes.Structure):
    """struct kvm_dtable: GDTR and IDTR (asm/kvm.h)."""

    _fields_ = [("base", u64), ("limit", u16), ("padding", u16 * 3)]


class KvmSregs(ctypes.Structure):
    """struct kvm_sregs: segment and control registers (api.rst §4.13 KVM_GET_SREGS)."""

    _fields_ = (
        [(name, KvmSegment) for name in ("cs", "ds", "es", "fs", "gs", "ss", "tr", "ldt")]
        + [("gdt", KvmDtable), ("idt", KvmDtable)]
        + [(name, u64) for name in ("cr0", "cr2", "cr3", "cr4", "cr8", "efer", "apic_base")]
        + [("interrupt_bitmap", u64 * 4)]  # (KVM_NR_INTERRUPTS + 63) / 64 = 4
    )


class KvmRunIo(ctypes.Structure):
    """kvm_run.io: what KVM_EXIT_IO carries (api.rst §5)."""

    _fields_ = [
        ("direction", u8),  # KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1
        ("size", u8),  # bytes per access (1, 2, 4)
        ("port", u16),
        ("count", u32),  # how many accesses (REP OUTSB and the like)
        ("data_offset", u64),  # where the data is (bytes from the start of kvm_run)
    ]


class KvmRunMmio(ctypes.Structure):
    """kvm_run.mmio: what KVM_EXIT_MMIO carries (api.rst §5)."""

    _fields_ = [("phys_addr", u64), ("data", u8 * 8), ("len", u32), ("is_write", u8)]


class KvmRunFailEntry(ctypes.Structure):
    """kvm_run.fail_entry: KVM_EXIT_FAIL_ENTRY (api.rst §5)."""

    _fields_ = [("hardware_entry_failure_reason", u64), ("cpu", u32)]


class KvmRunInternal(ctypes.Structure):
    """kvm_run.internal: KVM_EXIT_INTERNAL_ERROR (api.rst §5)."""

    _fields_ = [("suberror", u32), ("ndata", u32), ("data", u64 * 16)]


class KvmRunExit(ctypes.Union):
    """The union in kvm_run: exit_reason says which member is valid."""

    _fields_ = [
        ("hardware_exit_reason", u64),  # KVM_EXIT_UNKNOWN (hw.hardware_exit_reason in C)
        ("fail_entry", KvmRunFailEntry),
        ("io", KvmRunIo),
        ("mmio", KvmRunMmio),
        ("internal", KvmRunInternal),
        ("padding", ctypes.c_char * 256),  # fixes the union's size at 256 bytes
    ]


class KvmRun(ctypes.Structure):
    """struct kvm_run: the start of the area shared by mmap on the vCPU's fd (api.rst §5)."""

    _anonymous_ = ("exit",)  # lets us write run.io, run.mmio directly
    _fields_ = [
        ("request_interrupt_window", u8),
        ("immediate_exit", u8),
        ("padding1", u8 * 6),
        ("exit_reason", u32),  # why KVM_RUN returned
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
# ---- ioctl numbers (<linux/kvm.h>, <asm-generic/ioctl.h>) ---------------------
# An ioctl number packs "direction (2 bits), argument size (14 bits), type (8 bits),
# number (8 bits)" into one integer. KVM's type is 0xAE.
KVMIO = 0xAE
_IOC_WRITE, _IOC_READ = 1, 2  # the direction as seen from user space


def _ioc(direction: int, nr: int, size: int = 0) -> int:
    return (direction << 30) | (size << 16) | (KVMIO << 8) | nr


def _IO(nr: int) -> int:  # no argument (or just an integer)
    return _ioc(0, nr)


def _IOR(nr: int, struct: type) -> int:  # the kernel writes the structure
    return _ioc(_IOC_READ, nr, ctypes.sizeof(struct))


def _IOW(nr: int, struct: type) -> int:  # the kernel reads the structure
    return _ioc(_IOC_WRITE, nr, ctypes.sizeof(struct))


KVM_GET_API_VERSION = _IO(0x00)  # system ioctl (api.rst §4.1)
KVM_CREATE_VM = _IO(0x01)  # system ioctl (§4.2)
KVM_GET_VCPU_MMAP_SIZE = _IO(0x04)  # system ioctl (§4.5)
KVM_CREATE_VCPU = _IO(0x41)  # VM ioctl (§4.7)
KVM_SET_TSS_ADDR = _IO(0x47)  # VM ioctl (§4.36)
KVM_SET_USER_MEMORY_REGION = _IOW(0x46, KvmUserspaceMemoryRegion)  # VM ioctl (§4.35)
KVM_RUN = _IO(0x80)  # vCPU ioctl (§4.10)
KVM_GET_REGS = _IOR(0x81, KvmRegs)  # vCPU ioctl (§4.11)
KVM_SET_REGS = _IOW(0x82, KvmRegs)  # §4.12
KVM_GET_SREGS = _IOR(0x83, KvmSregs)  # §4.13
KVM_SET_SREGS = _IOW(0x84, KvmSregs)  # §4.14

KVM_API_VERSION = 12  # api.rst §4.1: with any other value, do not go on
KVM_EXIT_IO_IN, KVM_EXIT_IO_OUT = 0, 1
# --8<-- [end:ioctls]

# The values and names of exit_reason (KVM_EXIT_* in <linux/kvm.h>, in order: 0-37 as
# in Linux 6.1's header; exit_reason_name shows reasons added later by their number)
EXIT_REASON_NAMES = (
    "UNKNOWN EXCEPTION IO HYPERCALL DEBUG HLT MMIO IRQ_WINDOW_OPEN SHUTDOWN FAIL_ENTRY "
    "INTR SET_TPR TPR_ACCESS S390_SIEIC S390_RESET DCR NMI INTERNAL_ERROR OSI PAPR_HCALL "
    "S390_UCONTROL WATCHDOG S390_TSCH EPR SYSTEM_EVENT S390_STSI IOAPIC_EOI HYPERV "
    "ARM_NISV X86_RDMSR X86_WRMSR DIRTY_RING_FULL AP_RESET_HOLD X86_BUS_LOCK XEN "
    "RISCV_SBI RISCV_CSR NOTIFY"
).split()
# The ones this program uses by name (each value is its position in the list above)
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


# ---- Errors: messages that tell the reader how to fix things ------------------------
class KvmError(Exception):
    """A failure this program expects: main() prints just the message and exits with 1."""


# --8<-- [start:open-device]
def open_kvm(path: str) -> int:
    """Open /dev/kvm and return its file descriptor, the system fd (api.rst §2)."""
    if platform.machine() != "x86_64":  # the structures and the guest's code are x86's
        raise KvmError(say("not-x86-64", machine=platform.machine()))
    try:
        # O_CLOEXEC: a child process started later does not inherit KVM's fd
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KvmError(say("no-device", path=path)) from None
    except PermissionError:
        raise KvmError(say("no-permission", path=path)) from None


def check_api_version(kvm_fd: int) -> int:
    """Check that KVM_GET_API_VERSION returns 12 (api.rst §4.1)."""
    version = fcntl.ioctl(kvm_fd, KVM_GET_API_VERSION, 0)
    if version != KVM_API_VERSION:
        raise KvmError(say("api-version-mismatch", version=version, expected=KVM_API_VERSION))
    return version
# --8<-- [end:open-device]


# ---- Allocating memory ------------------------------------------------------------
# --8<-- [start:mapping]
# Python's mmap module does not tell us the address of the area it maps. KVM needs
# that address, so we call libc's mmap/munmap directly through ctypes.
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
# fcntl.ioctl passes an integer argument as a signed int, so an address near 4 GiB goes through libc's ioctl
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]
_MAP_FAILED = ctypes.c_void_p(-1).value


class Mapping:
    """An mmap'ed area: addr is its start address; close() releases it."""

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
        # reading or writing outside the area would corrupt other memory of this process
        if offset < 0 or offset + length > self.size:
            raise KvmError(say("outside-area", size=self.size, offset=offset, length=length))

    def close(self) -> None:
        if self.addr is not None:
            _libc.munmap(self.addr, self.size)
            self.addr = None
# --8<-- [end:mapping]


# --8<-- [start:create-vm]
TSS_ADDR = 0xFFFBD000  # three pages, at a guest physical address where there is no memory


def create_vm(stack: ExitStack, kvm_fd: int) -> int:
    """KVM_CREATE_VM: create an empty VM (no vCPU, no memory) and return its fd (api.rst §4.2)."""
    vm_fd = fcntl.ioctl(kvm_fd, KVM_CREATE_VM, 0)  # 0 = the default machine type
    stack.callback(os.close, vm_fd)
    # On an Intel host, the three pages KVM uses for a real-mode guest must be placed
    # before the vCPU runs (api.rst §4.36). We use an address just below 4 GiB that no
    # guest memory overlaps (right above the page 0xFFFBC000 that KVM uses by default,
    # api.rst §4.40). On an AMD host this does nothing.
    if _libc.ioctl(vm_fd, KVM_SET_TSS_ADDR, TSS_ADDR) < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"KVM_SET_TSS_ADDR: {os.strerror(err)}")
    return vm_fd


def add_memory(stack: ExitStack, vm_fd: int, slot: int, guest_phys_addr: int, size: int) -> Mapping:
    """Allocate memory in this process and show it to the guest at a physical address (api.rst §4.35)."""
    memory = Mapping(size)  # plain anonymous memory, nothing special to KVM
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
    """A vCPU's fd and the kvm_run mapped from that fd (api.rst §4.7, §4.5, §5)."""

    def __init__(self, stack: ExitStack, kvm_fd: int, vm_fd: int, vcpu_id: int = 0):
        self.fd = fcntl.ioctl(vm_fd, KVM_CREATE_VCPU, vcpu_id)
        stack.callback(os.close, self.fd)
        # the kernel decides the size of the kvm_run area (on x86 more pages follow kvm_run)
        size = fcntl.ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0)
        self.shared = Mapping(size, fd=self.fd)
        stack.callback(self.shared.close)
        # read the start of the shared area as struct kvm_run (the same memory, not a copy)
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
        """KVM_RUN: run the guest and return why it came back to user space (api.rst §4.10)."""
        fcntl.ioctl(self.fd, KVM_RUN, 0)  # the guest runs here; it returns when the VMM has work
        return self.run.exit_reason

    def io_data(self) -> bytes:
        """On KVM_EXIT_IO, the data the guest sent with OUT (inside kvm_run, at data_offset)."""
        io = self.run.io
        return self.shared.read(io.data_offset, io.size * io.count)
    # --8<-- [end:run]


# --8<-- [start:real-mode]
def setup_real_mode(vcpu: Vcpu, entry: int) -> None:
    """Put the vCPU in real mode, fetching its first instruction from CS:IP = 0000:entry.

    A new vCPU is in x86's state after reset: real mode (CR0.PE = 0) with CS's base at
    0xFFFF0000 and RIP at 0xFFF0, so the first instruction would come from 0xFFFFFFF0,
    where there is no memory. Setting only RIP to entry would fetch from
    0xFFFF0000 + entry while CS's base stays. We set CS's base to 0 as well, so the
    guest starts in the memory we wrote (api.rst §4.14 KVM_SET_SREGS, §4.12 KVM_SET_REGS).
    """
    sregs = vcpu.get_sregs()
    for seg in (sregs.cs, sregs.ds, sregs.es, sregs.ss):
        seg.base, seg.selector = 0, 0  # physical address = segment × 16 + offset = offset
    vcpu.set_sregs(sregs)

    regs = KvmRegs()  # everything starts at 0
    regs.rip = entry
    regs.rflags = 0x2  # KVM's initial value (only bit 1 set); IF = 0, so no interrupts either
    vcpu.set_regs(regs)
# --8<-- [end:real-mode]


# --8<-- [start:guest]
# ---- The guest's code (16-bit real mode) ---------------------------------------------
GUEST_ADDR = 0x1000  # the physical address (GPA) of the guest's memory
GUEST_MEM_SIZE = 0x1000  # 4 KiB = one page
MESSAGE_ADDR = 0x1100  # the physical address of the message string
OUTPUT_PORT = 0x3F8  # the I/O port the guest writes characters to (agreed with the VMM)
MESSAGE = b"Hello from the guest!\n"

# The assembly (GNU as .code16, Intel syntax) and its machine code, starting at 0x1000.
GUEST_ASM = """\
start:  mov si, 0x1100   ; SI = the start of the message
        mov dx, 0x3f8    ; DX = the output port
        cld              ; make LODSB count SI upwards
next:   lodsb            ; AL = [SI], SI = SI + 1
        test al, al      ; 0 (the end of the string)?
        jz done
        out dx, al       ; write one byte to the port → KVM_EXIT_IO
        jmp next
done:   hlt              ; stop → KVM_EXIT_HLT
"""
GUEST_CODE = bytes([
    0xBE, 0x00, 0x11,  # mov si, 0x1100
    0xBA, 0xF8, 0x03,  # mov dx, 0x3f8
    0xFC,              # cld
    0xAC,              # next: lodsb
    0x84, 0xC0,        # test al, al
    0x74, 0x03,        # jz done (3 bytes ahead)
    0xEE,              # out dx, al
    0xEB, 0xF8,        # jmp next (8 bytes back)
    0xF4,              # done: hlt
])
# --8<-- [end:guest]


def describe_exit(vcpu: Vcpu) -> str:
    """Text that explains an unexpected exit: the reason's name, its fields, the registers."""
    run = vcpu.run
    lines = [say("unexpected-exit", name=exit_reason_name(run.exit_reason), number=run.exit_reason)]
    if run.exit_reason == KVM_EXIT_IO:
        io = run.io
        direction = "OUT" if io.direction == KVM_EXIT_IO_OUT else "IN"
        lines.append(f"  {direction} port=0x{io.port:x} size={io.size} count={io.count}")
    elif run.exit_reason == KVM_EXIT_MMIO:
        mmio = run.mmio
        kind = "mmio-write" if mmio.is_write else "mmio-read"
        lines.append(say(kind, phys_addr=mmio.phys_addr, len=mmio.len))
    elif run.exit_reason == KVM_EXIT_FAIL_ENTRY:
        fail = run.fail_entry
        lines.append(say("fail-entry", reason=fail.hardware_entry_failure_reason, cpu=fail.cpu))
    elif run.exit_reason == KVM_EXIT_INTERNAL_ERROR:
        internal = run.internal
        data = " ".join(f"0x{internal.data[i]:x}" for i in range(min(internal.ndata, 16)))
        lines.append(say("internal-error", suberror=internal.suberror, ndata=internal.ndata, data=data))
    elif run.exit_reason == KVM_EXIT_UNKNOWN:
        lines.append(f"  hardware_exit_reason=0x{run.hardware_exit_reason:x}")
    try:
        regs = vcpu.get_regs()
    except OSError as e:
        lines.append(say("registers-unreadable", error=e.strerror))
    else:
        names = [name for name, _ in KvmRegs._fields_]
        for i in range(0, len(names), 6):
            lines.append("  " + " ".join(f"{n}={getattr(regs, n):#x}" for n in names[i : i + 6]))
    return "\n".join(lines)


# --8<-- [start:loop]
def run_guest(vcpu: Vcpu, out) -> dict[str, int]:
    """Run the guest until HLT, writing the characters it OUTs to out; return the exit counts."""
    counts = {"KVM_EXIT_IO": 0, "KVM_EXIT_HLT": 0}
    while True:
        reason = vcpu.run_once()
        if reason == KVM_EXIT_IO and vcpu.run.io.direction == KVM_EXIT_IO_OUT and vcpu.run.io.port == OUTPUT_PORT:
            counts["KVM_EXIT_IO"] += 1
            out.write(vcpu.io_data().decode("ascii", "replace"))  # the guest's "screen"
        elif reason == KVM_EXIT_HLT:
            counts["KVM_EXIT_HLT"] += 1
            return counts  # the guest stopped: this VM's work is done
        else:
            raise KvmError(describe_exit(vcpu))  # an exit this small VMM does not know
# --8<-- [end:loop]


# --8<-- [start:main]
def hello(device: str, out=None) -> None:
    out = out or sys.stdout
    with ExitStack() as stack:  # leaving the with block closes every fd and mmap, in reverse order
        kvm_fd = open_kvm(device)
        stack.callback(os.close, kvm_fd)
        print(say("api-version", version=check_api_version(kvm_fd)), file=out)

        vm_fd = create_vm(stack, kvm_fd)
        memory = add_memory(stack, vm_fd, slot=0, guest_phys_addr=GUEST_ADDR, size=GUEST_MEM_SIZE)
        memory.write(0, GUEST_CODE)  # GPA 0x1000: the code
        memory.write(MESSAGE_ADDR - GUEST_ADDR, MESSAGE + b"\0")  # GPA 0x1100: the string
        print(say("guest-memory", start=GUEST_ADDR, end=GUEST_ADDR + GUEST_MEM_SIZE - 1,
                  size=GUEST_MEM_SIZE), file=out)

        vcpu = Vcpu(stack, kvm_fd, vm_fd)
        setup_real_mode(vcpu, entry=GUEST_ADDR)
        print(say("real-mode-start", ip=GUEST_ADDR), file=out)

        print(say("guest-output", port=OUTPUT_PORT), file=out)
        counts = run_guest(vcpu, out)
        print(say("guest-output-end"), file=out)
        rip = vcpu.get_regs().rip
        print(say("exit-counts", io=counts["KVM_EXIT_IO"], hlt=counts["KVM_EXIT_HLT"], rip=rip), file=out)
# --8<-- [end:main]


def parse_args(argv: list[str] | None, description: str | None = None) -> argparse.Namespace:
    """Command-line options shared by the labs that import this file (each gives its own description)."""
    parser = argparse.ArgumentParser(description=description or say("description"))
    parser.add_argument("--device", default="/dev/kvm", help=say("help-device"))
    return parser.parse_args(argv)


def report_errors(action) -> int:
    """Run action; report a failure as a short message, not a traceback."""
    try:
        action()
    except KvmError as e:
        print(say("error", message=e), file=sys.stderr)
        return 1
    except OSError as e:  # an ioctl or mmap failed; errno alone does not say which call
        where = traceback.extract_tb(e.__traceback__)[-1]  # the line of the failed call
        print(say("system-call-failed", error=e, file=os.path.basename(where.filename),
                  line=where.lineno, code=where.line), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(say("interrupted"), file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: hello(args.device))


if __name__ == "__main__":
    # Piped into head or less: end quietly, as other command-line tools do.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
