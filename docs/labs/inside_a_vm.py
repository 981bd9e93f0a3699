#!/usr/bin/env python3
"""Lab 0: a virtual machine seen from inside and outside.

Shows the following about the Linux machine it runs on, each with the file or the
instruction it is based on:

  inside:  on a hypervisor or not, and which one (CPUID, /proc/cpuinfo, DMI,
           /sys/hypervisor); in a container or not; the clock (clock source); steal
           time; virtio devices; whether this machine can run KVM
  outside: makes a small VM with the same calls as Lab 1 (kvm_hello.py) and shows how
           that VM looks from the host (KVM's fds in /proc/self/fd, the threads, the
           guest's memory in /proc/self/maps)

    python3 inside_a_vm.py                # examine this machine
    python3 inside_a_vm.py --sample 5     # measure steal time for 5 s (default 1 s, 0: not at all)
    python3 inside_a_vm.py --root DIR     # read /proc, /sys, /dev and so on from under DIR
    python3 inside_a_vm.py --no-outside   # skip the outside part

In a tree read with --root, the CPUID values come from DIR/cpuid.txt: one leaf per
line, "leaf subleaf eax ebx ecx edx" in hexadecimal (for example 0x40000000 0x0
0x40000001 0x4b4d564b 0x564b4d56 0x4d); from # on is a comment.

Standard library only (Python 3.9 or later, Linux). The outside part uses kvm_hello.py
from the same directory. A file that is missing or unreadable is shown as "unknown"
with the reason, never a traceback. The program prints in the reader's language
(Japanese or English, from LC_ALL, LC_MESSAGES or LANG; MESSAGES, after the imports).
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import mmap
import os
import platform
import re
import signal
import sys
import threading
import time
import traceback
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
    "yes": {"ja": "あり", "en": "yes"},
    "no": {"ja": "なし", "en": "no"},
    "none": {"ja": "なし", "en": "none"},
    "unknown": {"ja": "不明", "en": "unknown"},
    "list-separator": {"ja": "、", "en": ", "},
    "not-in-table": {"ja": "このプログラムの表にない", "en": "not in this program's table"},
    "verdict": {"ja": "判定: {verdict}", "en": "Verdict: {verdict}"},
    "verdict-because": {"ja": "判定: {verdict}（根拠: {why}）", "en": "Verdict: {verdict} (evidence: {why})"},
    # Reading, Cpuid
    "unknown-because": {"ja": "不明（{path}: {why}）", "en": "unknown ({path}: {why})"},
    "missing": {"ja": "ありません", "en": "does not exist"},
    "no-permission": {"ja": "読む権限がありません", "en": "no permission to read it"},
    "unreadable": {"ja": "読めません（{error}）", "en": "cannot be read ({error})"},
    "cpuid-not-x86": {"ja": "このマシン（{machine}）はx86-64ではないので、CPUID命令がありません",
                      "en": "this machine ({machine}) is not x86-64, so it has no CPUID instruction"},
    "cpuid-mmap-failed": {"ja": "mmapに失敗しました（{error}）", "en": "mmap failed ({error})"},
    "cpuid-no-exec": {
        "ja": "書いた機械語を実行できるようにできませんでした（mprotect: {error}）。"
              "書き込んだメモリの実行を禁じる設定のホストです",
        "en": "could not make the machine code executable (mprotect: {error}); "
              "this host forbids executing memory that was written",
    },
    # check_hypervisor(), judge_vm()
    "section-hypervisor": {"ja": "内側から(1): ハイパーバイザーの上か", "en": "Inside (1): on a hypervisor?"},
    "leaf1-not-recorded": {"ja": "  leaf 0x1: 記録にありません", "en": "  leaf 0x1: not recorded"},
    "hv-bit": {"ja": "  leaf 0x1 ECXのビット31（hypervisor）: {bit}", "en": "  leaf 0x1 ECX bit 31 (hypervisor): {bit}"},
    "signature": {"ja": "  leaf 0x{base:08x}: 署名 \"{sig}\"（{owner}）、最大leaf 0x{top:08x}",
                  "en": "  leaf 0x{base:08x}: signature \"{sig}\" ({owner}), highest leaf 0x{top:08x}"},
    "kvm-features": {"ja": "  leaf 0x{leaf:08x} EAX=0x{eax:08x}（KVMの機能のビット）:",
                     "en": "  leaf 0x{leaf:08x} EAX=0x{eax:08x} (KVM's feature bits):"},
    "kvm-features-none": {"ja": "  leaf 0x{leaf:08x} EAX=0x{eax:08x}（KVMの機能のビット）: なし",
                          "en": "  leaf 0x{leaf:08x} EAX=0x{eax:08x} (KVM's feature bits): none"},
    "no-signature": {"ja": "  leaf 0x40000000〜: 署名なし", "en": "  leaf 0x40000000 and up: no signature"},
    "hv-bit-zero": {"ja": "  ビット31が0なので、0x40000000からのleafは読みません（実機では別の値が返ります）",
                    "en": "  bit 31 is 0, so the leaves from 0x40000000 are not read "
                          "(on real hardware they return something else)"},
    "cpuinfo-flags": {"ja": "/proc/cpuinfo: vendor_id {vendor}、flagsに {marks}",
                      "en": "/proc/cpuinfo: vendor_id {vendor}, in flags: {marks}"},
    "dmi": {"ja": "DMI（/sys/class/dmi/id）: {values}", "en": "DMI (/sys/class/dmi/id): {values}"},
    "unknown-signature": {"ja": "不明な署名\"{sig}\"", "en": "an unknown hypervisor (signature \"{sig}\")"},
    "vm-on": {"ja": "{owner}の仮想マシン", "en": "a virtual machine on {owner}"},
    "vm-device-tree": {"ja": "仮想マシン（{compatible}）", "en": "a virtual machine ({compatible})"},
    "vm-unknown-kind": {"ja": "種類の分からない仮想マシン", "en": "a virtual machine of an unknown kind"},
    "physical": {"ja": "物理マシン（仮想化の印なし）", "en": "a physical machine (no sign of virtualization)"},
    "evidence-signature": {"ja": "CPUIDの署名", "en": "the CPUID signature"},
    "evidence-dmi": {"ja": "DMIの{name}", "en": "DMI {name}"},
    "evidence-device-tree": {"ja": "デバイスツリー", "en": "the device tree"},
    "evidence-hv-bit": {"ja": "CPUIDのビット31", "en": "CPUID bit 31"},
    "evidence-cpuinfo-hv": {"ja": "/proc/cpuinfoのhypervisor", "en": "hypervisor in /proc/cpuinfo"},
    "evidence-hv-bit-zero": {"ja": "CPUIDのビット31が0", "en": "CPUID bit 31 is 0"},
    "evidence-no-cpuinfo-hv": {"ja": "/proc/cpuinfoにhypervisorがない", "en": "no hypervisor in /proc/cpuinfo"},
    "evidence-none": {"ja": "調べられる手がかりがない", "en": "no clue to examine"},
    # check_container()
    "section-container": {"ja": "内側から(2): コンテナの中か", "en": "Inside (2): in a container?"},
    "empty": {"ja": "空", "en": "empty"},
    "none-in-parentheses": {"ja": "（なし）", "en": "(none)"},
    "empty-in-parentheses": {"ja": "（空）", "en": "(empty)"},
    "and-more": {"ja": " ほか", "en": " and more"},
    "present": {"ja": "ある", "en": "present"},
    "absent": {"ja": "ない", "en": "absent"},
    "environ-container": {"ja": "/proc/1/environの$container", "en": "$container in /proc/1/environ"},
    "in-container": {"ja": "{runtime}のコンテナの中", "en": "inside a {runtime} container"},
    "no-container-found": {"ja": "見つからない", "en": "none found"},
    "shared-kernel": {"ja": "  コンテナはホストのカーネルを共有します。/proc/cpuinfoやDMIに見えるのはホストのマシンです。",
                      "en": "  A container shares the host's kernel: /proc/cpuinfo and DMI show the host machine."},
    "no-container": {"ja": "判定: コンテナは見つからない（どの手がかりもない）",
                     "en": "Verdict: no container found (none of the clues is there)"},
    # check_clock()
    "section-clock": {"ja": "内側から(3): 時計", "en": "Inside (3): the clock"},
    "clocksource": {"ja": "クロックソース: {name}", "en": "Clock source: {name}"},
    "clocksource-meaning": {"ja": "クロックソース: {name}（{meaning}）", "en": "Clock source: {name} ({meaning})"},
    "available": {"ja": "選べるもの: {names}", "en": "Available: {names}"},
    "tsc-flags": {"ja": "/proc/cpuinfoのTSCの性質: {marks}", "en": "TSC properties in /proc/cpuinfo: {marks}"},
    # check_steal()
    "section-steal": {"ja": "内側から(4): steal time", "en": "Inside (4): steal time"},
    "no-cpu-line": {"ja": "不明（cpuの行がありません）", "en": "unknown (no cpu line)"},
    "stat-line": {"ja": "/proc/statのcpu行（単位1/{hz}秒）: steal {steal}、guest {guest}",
                  "en": "/proc/stat, cpu line (in units of 1/{hz} s): steal {steal}, guest {guest}"},
    "since-boot": {"ja": "  起動から: steal {seconds:.2f}秒（全CPU時間の{share:.2f}%）",
                   "en": "  since boot: steal {seconds:.2f} s ({share:.2f}% of all CPU time)"},
    "steal-since-boot": {"ja": "起動から{share:.2f}%", "en": "{share:.2f}% since boot"},
    "kvm-steal-feature": {"ja": "  KVMのsteal timeの機能（CPUID 0x40000001 EAXのビット5）: {present}",
                          "en": "  KVM's steal time feature (CPUID 0x40000001 EAX bit 5): {present}"},
    "recent-recorded": {"ja": "  直近: 記録した木なので測りません", "en": "  recent: not measured in a recorded tree"},
    "recent": {"ja": "  直近{sample:g}秒: st {steal:.1f}%（us {user:.1f}% sy {system:.1f}% id {idle:.1f}%）",
               "en": "  last {sample:g} s: st {steal:.1f}% (us {user:.1f}% sy {system:.1f}% id {idle:.1f}%)"},
    "steal-recent": {"ja": "、直近{sample:g}秒 {steal:.1f}%", "en": ", last {sample:g} s {steal:.1f}%"},
    # check_virtio()
    "section-virtio": {"ja": "内側から(5): virtioデバイス", "en": "Inside (5): virtio devices"},
    "transport-unknown": {"ja": "経路は不明", "en": "transport unknown"},
    "virtio-missing": {"ja": "/sys/bus/virtio/devices: ありません（virtioのデバイスがない、またはドライバーがない）",
                       "en": "/sys/bus/virtio/devices: does not exist (no virtio devices, or no driver)"},
    "virtio-empty": {"ja": "/sys/bus/virtio/devices: 空です", "en": "/sys/bus/virtio/devices: empty"},
    "virtio-bad-id": {"ja": "  {name}: 不明（deviceが\"{text}\"）", "en": "  {name}: unknown (device is \"{text}\")"},
    "virtio-kind": {"ja": "{kind}（{detail}）", "en": "{kind} ({detail})"},
    "virtio-device": {"ja": "  {name}: ID {number:2d} {kind}、ドライバー {driver}、{transport}",
                      "en": "  {name}: ID {number:2d} {kind}, driver {driver}, {transport}"},
    "xen-devices": {"ja": "Xenの準仮想化デバイス", "en": "Xen paravirtual devices"},
    "vmbus-devices": {"ja": "Hyper-VのVMBusのデバイス", "en": "Hyper-V VMBus devices"},
    "other-bus": {"ja": "{label}（{bus}）: {count}個: {shown}", "en": "{label} ({bus}): {count}: {shown}"},
    # check_kvm()
    "section-kvm": {"ja": "内側から(6): このマシンでKVMを動かせるか", "en": "Inside (6): can this machine run KVM?"},
    "assist-flags": {"ja": "/proc/cpuinfoのflags: {flags}", "en": "flags in /proc/cpuinfo: {flags}"},
    "no-assist": {"ja": "vmxもsvmもない", "en": "neither vmx nor svm"},
    "kvm-absent": {"ja": "/dev/kvm: ない", "en": "/dev/kvm: absent"},
    "kvm-recorded": {"ja": "/dev/kvm: ある（記録した木なので、開けるかは調べません）",
                     "en": "/dev/kvm: present (a recorded tree: whether it opens is not checked)"},
    "kvm-readable": {"ja": "/dev/kvm: ある（このユーザーは読み書きできる）",
                     "en": "/dev/kvm: present (this user may read and write it)"},
    "kvm-unreadable": {"ja": "/dev/kvm: ある（このユーザーは開けない）", "en": "/dev/kvm: present (this user cannot open it)"},
    "modules": {"ja": "/sys/module: {names}", "en": "/sys/module: {names}"},
    "no-modules": {"ja": "kvmのモジュールはない", "en": "no kvm module"},
    "nested-parameter": {"ja": "  {module}のnested: {value}", "en": "  nested in {module}: {value}"},
    "kvm-no-access": {"ja": "/dev/kvmはあるが、このユーザーには開けない（kvmグループに入る）",
                      "en": "/dev/kvm exists, but this user cannot open it (join the kvm group)"},
    "kvm-usable": {"ja": "使える（{assist}）", "en": "usable ({assist})"},
    "kvm-usable-no-assist": {"ja": "使える。ただしvmxもsvmもない（ハードウェア支援を仮定しないKVMの実装）",
                             "en": "usable, though with neither vmx nor svm "
                                   "(a KVM implementation that does not assume hardware assistance)"},
    "kvm-not-passed": {"ja": "CPUは対応しているが、このコンテナに/dev/kvmが渡されていない",
                       "en": "the CPU supports it, but /dev/kvm is not passed into this container"},
    "kvm-no-module": {"ja": "CPUは対応しているが/dev/kvmがない（kvmのモジュールを読み込む）",
                      "en": "the CPU supports it, but there is no /dev/kvm (load the kvm module)"},
    "kvm-hidden": {"ja": "使えない（外側のハイパーバイザーがvmxもsvmも見せていない）",
                   "en": "not usable (the hypervisor outside shows neither vmx nor svm)"},
    "kvm-disabled": {"ja": "使えない（CPUかファームウェアの設定で、仮想化支援が使えない）",
                     "en": "not usable (the CPU, or the firmware's settings, leave no virtualization assistance)"},
    # outside(), report_outside(), check_outside()
    "vcpu-timeout": {"ja": "vCPUのスレッドが30秒たっても戻りません。",
                     "en": "the vCPU thread has not come back after 30 seconds."},
    "guest-output": {"ja": "ゲストの出力: {text}（KVM_EXIT_IO {io}回、KVM_EXIT_HLT {hlt}回）",
                     "en": "Guest output: {text} (KVM_EXIT_IO {io} times, KVM_EXIT_HLT {hlt} time)"},
    "fd-title": {"ja": "/proc/self/fd（このプロセスが開いているファイル）:",
                 "en": "/proc/self/fd (the files this process has open):"},
    "task-title": {"ja": "/proc/self/task（このプロセスのスレッド）:", "en": "/proc/self/task (this process's threads):"},
    "role-main": {"ja": "メインのスレッド", "en": "the main thread"},
    "role-vcpu": {"ja": "vCPUのスレッド（KVM_RUNを呼んだ）", "en": "the vCPU thread (it called KVM_RUN)"},
    "role-kvm": {"ja": "カーネルのKVMが作ったスレッド", "en": "a thread made by KVM in the kernel"},
    "role-other": {"ja": "ほかのスレッド", "en": "another thread"},
    "maps-title": {"ja": "/proc/self/maps（ゲストのメモリとkvm_run）:",
                   "en": "/proc/self/maps (the guest's memory and kvm_run):"},
    "maps-guest": {"ja": "ゲストの物理メモリ GPA 0x{start:x}〜0x{end:x}",
                   "en": "the guest's physical memory, GPA 0x{start:x}-0x{end:x}"},
    "maps-run": {"ja": "vCPUのfdをmmapしたkvm_run（{size}バイト）", "en": "kvm_run, mmap'ed from the vCPU's fd ({size} bytes)"},
    "anonymous": {"ja": "（名前のない匿名メモリ）", "en": "(anonymous memory, no name)"},
    "section-outside": {"ja": "外側から: このプロセスが作った小さなVM", "en": "Outside: a small VM made by this process"},
    "skip-no-outside": {"ja": "--no-outsideが指定されました", "en": "--no-outside was given"},
    "skip-root": {"ja": "--rootで記録した木を読んでいるので、このマシンでVMは作りません",
                  "en": "--root reads a recorded tree, so no VM is made on this machine"},
    "skip-arch": {"ja": "kvm_hello.pyのゲストはx86の機械語です（このマシンは{machine}）",
                  "en": "kvm_hello.py's guest is x86 machine code (this machine is {machine})"},
    "skip-no-kvm": {"ja": "/dev/kvmを開けません（上の「内側から(6)」を見てください）",
                    "en": "/dev/kvm cannot be opened (see \"Inside (6)\" above)"},
    "skipped-because": {"ja": "飛ばしました（{reason}）", "en": "skipped ({reason})"},
    "skipped": {"ja": "飛ばしました: {reason}", "en": "Skipped: {reason}"},
    "no-kvm-hello-fact": {"ja": "飛ばしました（kvm_hello.pyが見つかりません）", "en": "skipped (kvm_hello.py not found)"},
    "no-kvm-hello": {"ja": "飛ばしました: kvm_hello.pyが見つかりません（{error}）。このファイルと同じディレクトリに保存してください。",
                     "en": "Skipped: kvm_hello.py not found ({error}). Save it in the same directory as this file."},
    "failed": {"ja": "失敗しました", "en": "failed"},
    "error": {"ja": "エラー: {message}", "en": "error: {message}"},
    "system-call-failed": {"ja": "エラー: システムコールが失敗しました: {error}\n"
                                 "  場所: {file} {line}行目: {code}",
                           "en": "error: a system call failed: {error}\n"
                                 "  at: {file} line {line}: {code}"},
    "outside-done": {"ja": "VMを作り、ホストから見た姿を表示しました", "en": "made a VM and showed how it looks from the host"},
    "not-run": {"ja": "実行していません", "en": "not run"},
    # summary(), report()
    "section-summary": {"ja": "まとめ", "en": "Summary"},
    "summary-vm": {"ja": "このマシン: {vm}（根拠: {why}）", "en": "This machine: {vm} (evidence: {why})"},
    "summary-container": {"ja": "コンテナ: {container}", "en": "Container: {container}"},
    "summary-container-because": {"ja": "コンテナ: {container}（根拠: {why}）",
                                  "en": "Container: {container} (evidence: {why})"},
    "summary-clocksource": {"ja": "クロックソース: {name}", "en": "Clock source: {name}"},
    "summary-steal": {"ja": "steal time: {steal}", "en": "Steal time: {steal}"},
    "summary-virtio": {"ja": "virtioデバイス: {count}個", "en": "virtio devices: {count}"},
    "summary-virtio-names": {"ja": "virtioデバイス: {count}個（{names}）", "en": "virtio devices: {count} ({names})"},
    "summary-kvm": {"ja": "KVM: {kvm}", "en": "KVM: {kvm}"},
    "summary-outside": {"ja": "外側: {outside}", "en": "Outside: {outside}"},
    "title": {"ja": "仮想マシンを内側と外側から観察する（inside_a_vm.py）",
              "en": "A virtual machine seen from inside and outside (inside_a_vm.py)"},
    "target-tree": {"ja": "調べるもの: 記録した木 {root}", "en": "Examining: the recorded tree {root}"},
    "target-machine": {"ja": "調べるもの: このマシン", "en": "Examining: this machine"},
    "cpuid-not-recorded": {"ja": "記録がありません（{path}）", "en": "not recorded ({path})"},
    "cpuid-recorded": {"ja": "記録した値（cpuid.txt）", "en": "recorded values (cpuid.txt)"},
    "cpuid-executed": {"ja": "この場で命令を実行しました", "en": "executed the instruction here"},
    "cpuid-unavailable": {"ja": "実行できません。{reason}。/proc/cpuinfoとDMIで判断します",
                          "en": "cannot execute it: {reason}. Judging from /proc/cpuinfo and DMI"},
    # parse_args(), main()
    "description": {"ja": "ハンズオン0: 仮想マシンを内側と外側から観察する。",
                    "en": "Lab 0: a virtual machine seen from inside and outside."},
    "help-root": {"ja": "/proc、/sys、/devなどをDIRの下から読む（記録した木）",
                  "en": "read /proc, /sys, /dev and so on from under DIR (a recorded tree)"},
    "seconds": {"ja": "秒", "en": "SECONDS"},
    "help-sample": {"ja": "steal timeを測る時間（既定1秒、0で測らない）",
                    "en": "how long to measure steal time (default 1 second; 0: do not measure)"},
    "help-no-outside": {"ja": "外側の部分（VMを作る）を飛ばす", "en": "skip the outside part (which makes a VM)"},
    "no-root-directory": {"ja": "エラー: --rootのディレクトリ{root}がありません。",
                          "en": "error: the --root directory {root} does not exist."},
    "interrupted": {"ja": "中断しました。", "en": "Interrupted."},
    "unexpected": {"ja": "エラー: 想定していない失敗です: {kind}: {error}\n  場所: {file} {line}行目",
                   "en": "error: an unexpected failure: {kind}: {error}\n  at: {file} line {line}"},
}


# --8<-- [start:reading]
@dataclass
class Reading:
    """The result of reading one file. If text is None, why says why it could not be read."""

    path: str  # the path as the reader knows it (shown as /proc/stat even with --root)
    text: str | None
    why: str = ""

    def unknown(self) -> str:
        return say("unknown-because", path=self.path, why=self.why)


class Machine:
    """Reads this machine's files; with --root, reads them from under the recorded tree."""

    def __init__(self, root: str | None = None):
        self.root = root

    def real(self, path: str) -> str:
        return path if self.root is None else os.path.join(self.root, path.lstrip("/"))

    def read(self, path: str) -> Reading:
        try:
            with open(self.real(path), "rb") as f:
                return Reading(path, f.read().decode("utf-8", "replace"))
        except FileNotFoundError:
            return Reading(path, None, say("missing"))
        except PermissionError:
            return Reading(path, None, say("no-permission"))
        except OSError as e:  # EIO, EISDIR and the like
            return Reading(path, None, say("unreadable", error=e.strerror or e))

    def line(self, path: str) -> Reading:
        """Read a one-line file (sysfs has many), without its final newline."""
        r = self.read(path)
        if r.text is not None:
            r.text = r.text.strip()
        return r

    def exists(self, path: str) -> bool:
        return os.path.lexists(self.real(path))

    def listdir(self, path: str) -> list[str] | None:
        try:
            return sorted(os.listdir(self.real(path)))
        except OSError:
            return None
# --8<-- [end:reading]


# ---- CPUID: machine code placed in executable memory and called -----------------------
# --8<-- [start:cpuid-code]
# void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) in x86-64 machine code.
# The arguments arrive in EDI, ESI and RDX, as the System V ABI says. CPUID overwrites
# EBX, a register the callee must preserve, so PUSH and POP keep it.
CPUID_ASM = """\
        push rbx                 ; the callee preserves EBX
        mov r8, rdx              ; R8 = out
        mov eax, edi             ; EAX = leaf
        mov ecx, esi             ; ECX = subleaf
        cpuid                    ; the result in EAX, EBX, ECX, EDX
        mov [r8], eax
        mov [r8+4], ebx
        mov [r8+8], ecx
        mov [r8+12], edx
        pop rbx
        ret
"""
CPUID_CODE = bytes([
    0x53,                    # push rbx
    0x49, 0x89, 0xD0,        # mov r8, rdx
    0x89, 0xF8,              # mov eax, edi
    0x89, 0xF1,              # mov ecx, esi
    0x0F, 0xA2,              # cpuid
    0x41, 0x89, 0x00,        # mov [r8], eax
    0x41, 0x89, 0x58, 0x04,  # mov [r8+4], ebx
    0x41, 0x89, 0x48, 0x08,  # mov [r8+8], ecx
    0x41, 0x89, 0x50, 0x0C,  # mov [r8+12], edx
    0x5B,                    # pop rbx
    0xC3,                    # ret
])
# --8<-- [end:cpuid-code]

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_MAP_FAILED = ctypes.c_void_p(-1).value
PR_SET_NAME = 15  # <linux/prctl.h>: name the thread (/proc/self/task/TID/comm)


class CpuidUnavailable(Exception):
    """Why CPUID cannot be executed here (another architecture, no executable memory)."""


# --8<-- [start:cpuid-run]
class Cpuid:
    """A small function that executes CPUID; close() gives its memory back."""

    def __init__(self):
        if platform.machine() not in ("x86_64", "AMD64"):
            raise CpuidUnavailable(say("cpuid-not-x86", machine=platform.machine()))
        size = mmap.PAGESIZE
        addr = _libc.mmap(None, size, mmap.PROT_READ | mmap.PROT_WRITE,
                          mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
        if addr in (None, _MAP_FAILED):
            raise CpuidUnavailable(say("cpuid-mmap-failed", error=os.strerror(ctypes.get_errno())))
        self.addr, self.size = addr, size
        ctypes.memmove(addr, CPUID_CODE, len(CPUID_CODE))  # put the code there while it is writable
        # forbid writing, allow executing: never a page that is writable and executable at once
        if _libc.mprotect(addr, size, mmap.PROT_READ | mmap.PROT_EXEC) != 0:
            err = ctypes.get_errno()
            self.close()
            raise CpuidUnavailable(say("cpuid-no-exec", error=os.strerror(err)))
        self._call = ctypes.CFUNCTYPE(None, ctypes.c_uint32, ctypes.c_uint32,
                                      ctypes.POINTER(ctypes.c_uint32))(addr)

    def __call__(self, leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
        out = (ctypes.c_uint32 * 4)()
        self._call(leaf, subleaf, out)
        return tuple(out)  # (eax, ebx, ecx, edx)

    def close(self) -> None:
        if self.addr is not None:
            _libc.munmap(self.addr, self.size)
            self.addr = None
# --8<-- [end:cpuid-run]


class RecordedCpuid:
    """Answers with the values recorded in the --root tree's cpuid.txt; None for a leaf not recorded."""

    def __init__(self, text: str):
        self.leaves = {}
        for line in text.splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) == 6:
                leaf, subleaf, *regs = (int(w, 16) for w in words)
                self.leaves[(leaf, subleaf)] = tuple(regs)

    def __call__(self, leaf: int, subleaf: int = 0):
        return self.leaves.get((leaf, subleaf))

    def close(self) -> None:
        pass


# ---- Inside (1): the hypervisor -----------------------------------------------------
# --8<-- [start:signatures]
# The 12-byte signature in EBX, ECX, EDX of leaf 0x40000000, and whose it is.
SIGNATURES = {
    "KVMKVMKVM": "KVM",            # Documentation/virt/kvm/x86/cpuid.rst
    "Linux KVM Hv": "KVM",         # KVM showing a Hyper-V compatible entry (systemd's virt.c)
    "XenVMMXenVMM": "Xen",         # xen/include/public/arch-x86/cpuid.h
    "Microsoft Hv": "Hyper-V",     # Hypervisor Top-Level Functional Specification
    "VMwareVMware": "VMware",      # VMware KB 1009458
    "TCGTCGTCGTCG": "QEMU/TCG",    # QEMU without KVM (systemd's virt.c)
    "bhyve bhyve ": "bhyve",
    "ACRNACRNACRN": "ACRN",
}
# The features KVM announces in EAX of leaf 0x40000001 (Documentation/virt/kvm/x86/cpuid.rst)
KVM_FEATURES = {
    0: {"ja": "kvmclock（旧MSR）", "en": "kvmclock (old MSRs)"},
    3: {"ja": "kvmclock", "en": "kvmclock"},
    4: {"ja": "非同期ページフォールト", "en": "async page fault"},
    5: {"ja": "steal time", "en": "steal time"},
    6: {"ja": "PV EOI", "en": "PV EOI"},
    7: {"ja": "PVスピンロック（PV unhalt）", "en": "PV spinlocks (PV unhalt)"},
    9: {"ja": "PV TLBフラッシュ", "en": "PV TLB flush"},
    11: {"ja": "PV IPI", "en": "PV IPI"},
    12: {"ja": "ホスト側のHLTポーリングの制御", "en": "host-side HLT polling control"},
    13: {"ja": "PV sched yield", "en": "PV sched yield"},
    24: {"ja": "kvmclockが安定（stable bit）", "en": "kvmclock is stable (stable bit)"},
}
# The start of a DMI string, and whose it is (dmi_vendor_table in systemd's virt.c)
DMI_VENDORS = [
    ("KVM", "KVM"), ("OpenStack", "KVM"), ("KubeVirt", "KVM"), ("Amazon EC2", "Amazon EC2"),
    ("QEMU", "QEMU"), ("VMware", "VMware"), ("VMW", "VMware"), ("innotek GmbH", "VirtualBox"),
    ("VirtualBox", "VirtualBox"), ("Oracle Corporation", "VirtualBox"), ("Xen", "Xen"),
    ("Bochs", "Bochs"), ("Parallels", "Parallels"), ("BHYVE", "bhyve"), ("Hyper-V", "Hyper-V"),
    ("Apple Virtualization", "Apple"), ("Google Compute Engine", "Google Compute Engine"),
]
DMI_FILES = ("product_name", "sys_vendor", "board_vendor", "bios_vendor", "product_version")
# --8<-- [end:signatures]


def signature_text(ebx: int, ecx: int, edx: int) -> str:
    raw = b"".join(r.to_bytes(4, "little") for r in (ebx, ecx, edx))
    return raw.rstrip(b"\0").decode("ascii", "replace")


# --8<-- [start:hypervisor-leaves]
def hypervisor_leaves(cpuid) -> list[tuple[int, int, str]]:
    """Look for leaves with a hypervisor signature, from 0x40000000 in steps of 0x100.

    Linux scans the same range (hypervisor_cpuid_base): KVM or Xen showing a Hyper-V
    compatible entry puts its own signature at 0x40000100 and "Microsoft Hv" at 0x40000000.
    """
    found = []
    for base in range(0x40000000, 0x40010000, 0x100):
        regs = cpuid(base)
        if regs is None:
            continue
        eax, ebx, ecx, edx = regs
        sig = signature_text(ebx, ecx, edx)
        # the highest leaf in the same range and a printable signature: a hypervisor's leaf
        if base <= eax <= base + 0xFF and sig and sig.isprintable():
            found.append((base, eax, sig))
    return found
# --8<-- [end:hypervisor-leaves]


def cpuinfo_flags(machine: Machine) -> tuple[Reading, set[str], str | None]:
    r = machine.read("/proc/cpuinfo")
    flags, vendor = set(), None
    for line in (r.text or "").splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags" and not flags:  # the same line for every logical CPU: the first one will do
            flags = set(value.split())
        elif key == "vendor_id" and vendor is None:
            vendor = value.strip()
    return r, flags, vendor


@dataclass
class Facts:
    """The verdicts and their evidence, for the summary at the end of the report."""

    vm: str = field(default_factory=lambda: say("unknown"))
    vm_why: str = ""
    container: str = field(default_factory=lambda: say("no-container-found"))  # or "inside a docker container"
    container_why: str = ""
    clocksource: str = field(default_factory=lambda: say("unknown"))
    steal: str = field(default_factory=lambda: say("unknown"))
    virtio: list[str] = field(default_factory=list)
    kvm: str = field(default_factory=lambda: say("unknown"))
    outside: str = field(default_factory=lambda: say("not-run"))


def section(title: str, out) -> None:
    print(f"\n=== {title} ===", file=out)


def check_hypervisor(machine: Machine, cpuid, cpuid_note: str, facts: Facts, out) -> dict:
    """Inside (1): look for a hypervisor in CPUID, /proc/cpuinfo, DMI and /sys/hypervisor."""
    section(say("section-hypervisor"), out)
    evidence = {}
    print(f"CPUID: {cpuid_note}", file=out)
    kvm_features = None
    if cpuid is not None:
        leaf1 = cpuid(1)
        if leaf1 is None:
            print(say("leaf1-not-recorded"), file=out)
        else:
            hv = leaf1[2] >> 31 & 1
            evidence["hv_bit"] = hv
            print(say("hv-bit", bit=hv), file=out)
        if evidence.get("hv_bit"):
            leaves = hypervisor_leaves(cpuid)
            for base, top, sig in leaves:
                owner = SIGNATURES.get(sig, say("not-in-table"))
                print(say("signature", base=base, sig=sig, owner=owner, top=top), file=out)
                if owner == "KVM" and kvm_features is None and top >= base + 1:
                    regs = cpuid(base + 1)
                    if regs is not None:
                        kvm_features = regs[0]
                        names = [f"{name[reader_language()]}({bit})" for bit, name in KVM_FEATURES.items()
                                 if regs[0] >> bit & 1]
                        print(say("kvm-features" if names else "kvm-features-none", leaf=base + 1, eax=regs[0]),
                              file=out)
                        for i in range(0, len(names), 4):  # four to a line
                            print("    " + say("list-separator").join(names[i:i + 4]), file=out)
                if sig == "XenVMMXenVMM" and top >= base + 1:
                    regs = cpuid(base + 1)
                    if regs is not None:
                        print(f"  leaf 0x{base + 1:08x} EAX=0x{regs[0]:08x}: Xen {regs[0] >> 16}.{regs[0] & 0xFFFF}", file=out)
            if not leaves:
                print(say("no-signature"), file=out)
            evidence["signatures"] = [sig for _, _, sig in leaves]
        elif "hv_bit" in evidence:
            print(say("hv-bit-zero"), file=out)
    evidence["kvm_features"] = kvm_features

    r, flags, vendor = cpuinfo_flags(machine)
    if r.text is None:
        print(f"/proc/cpuinfo: {r.unknown()}", file=out)
    else:
        marks = say("list-separator").join(f"{f} {say('yes' if f in flags else 'no')}"
                                          for f in ("hypervisor", "vmx", "svm"))
        print(say("cpuinfo-flags", vendor=vendor or say("unknown"), marks=marks), file=out)
        evidence["flag_hv"] = "hypervisor" in flags
    evidence["flags"] = flags

    dmi_found = None
    readable = []
    for name in DMI_FILES:
        d = machine.line(f"/sys/class/dmi/id/{name}")
        if d.text is None:
            continue
        readable.append(f"{name}=\"{d.text}\"")
        for prefix, owner in DMI_VENDORS:
            if dmi_found is None and d.text.startswith(prefix):
                dmi_found = (owner, name, d.text)
    vendor_r = machine.line("/sys/class/dmi/id/sys_vendor")
    product_r = machine.line("/sys/class/dmi/id/product_name")
    if dmi_found is None and (vendor_r.text, product_r.text) == ("Microsoft Corporation", "Virtual Machine"):
        dmi_found = ("Hyper-V", "sys_vendor", vendor_r.text)  # a DMI table in Linux (drivers/ata/ata_piix.c)
    serial = machine.line("/sys/class/dmi/id/product_serial")
    if serial.text is not None:
        readable.append(f"product_serial=\"{serial.text}\"")
        if dmi_found is None and serial.text.startswith(("VMware-", "VMW")):  # VMware KB 1009458
            dmi_found = ("VMware", "product_serial", serial.text)
    if readable:
        print(say("dmi", values=say("list-separator").join(readable)), file=out)
    else:
        print(say("dmi", values=vendor_r.unknown()), file=out)
    if serial.text is None and serial.why != say("missing"):
        print(f"  product_serial: {serial.unknown()}", file=out)
    evidence["dmi"] = dmi_found

    hvtype = machine.line("/sys/hypervisor/type")
    print(f"/sys/hypervisor/type: {hvtype.text if hvtype.text is not None else hvtype.unknown()}", file=out)
    evidence["sys_hypervisor"] = hvtype.text
    dt = machine.line("/proc/device-tree/hypervisor/compatible")
    if dt.text is not None:
        print(f"/proc/device-tree/hypervisor/compatible: {dt.text.rstrip(chr(0))}", file=out)
        evidence["device_tree"] = dt.text.rstrip("\0")

    facts.vm, facts.vm_why = judge_vm(evidence)
    print(say("verdict-because", verdict=facts.vm, why=facts.vm_why), file=out)
    return evidence


# --8<-- [start:judge-vm]
def judge_vm(ev: dict) -> tuple[str, str]:
    """Decide from the evidence "on which hypervisor", looking at the strongest evidence first."""
    owners = [SIGNATURES.get(sig, say("unknown-signature", sig=sig)) for sig in ev.get("signatures", [])]
    if "KVM" in owners:  # KVM's signature behind a Hyper-V compatible entry: KVM
        return say("vm-on", owner="KVM"), say("evidence-signature")
    if ev.get("sys_hypervisor") == "xen" or "Xen" in owners:
        return say("vm-on", owner="Xen"), say("evidence-signature") if "Xen" in owners else "/sys/hypervisor/type"
    if owners:
        return say("vm-on", owner=owners[0]), say("evidence-signature")
    if ev.get("dmi"):
        owner, name, _ = ev["dmi"]
        return say("vm-on", owner=owner), say("evidence-dmi", name=name)
    if ev.get("device_tree"):
        return say("vm-device-tree", compatible=ev["device_tree"]), say("evidence-device-tree")
    if ev.get("hv_bit") or ev.get("flag_hv"):
        return say("vm-unknown-kind"), say("evidence-hv-bit" if ev.get("hv_bit") else "evidence-cpuinfo-hv")
    if ev.get("hv_bit") == 0 or "flag_hv" in ev:
        return say("physical"), say("evidence-hv-bit-zero" if "hv_bit" in ev else "evidence-no-cpuinfo-hv")
    return say("unknown"), say("evidence-none")
# --8<-- [end:judge-vm]


# ---- Inside (2): containers --------------------------------------------------------
# --8<-- [start:container]
def check_container(machine: Machine, facts: Facts, out) -> None:
    """Inside (2): in a container? The same clues as systemd-detect-virt, in the same order."""
    section(say("section-container"), out)
    found = None
    osrelease = machine.line("/proc/sys/kernel/osrelease")
    print(f"/proc/sys/kernel/osrelease: {osrelease.text if osrelease.text is not None else osrelease.unknown()}", file=out)
    if osrelease.text and ("Microsoft" in osrelease.text or "WSL" in osrelease.text):
        found = ("wsl", "/proc/sys/kernel/osrelease")
    for path in ("/run/host/container-manager", "/run/systemd/container"):
        r = machine.line(path)
        print(f"{path}: {r.text if r.text else (say('empty') if r.text == '' else r.why)}", file=out)
        if found is None and r.text:
            found = (r.text, path)
    env = machine.read("/proc/1/environ")
    if env.text is None:
        print(f"/proc/1/environ: {env.unknown()}", file=out)
    else:
        values = [v.split("=", 1)[1] for v in env.text.split("\0") if v.startswith("container=")]
        print(f"/proc/1/environ: container={values[0] if values else say('none-in-parentheses')}", file=out)
        if found is None and values and values[0]:
            found = (values[0], say("environ-container"))
    for path, name in (("/run/.containerenv", "podman"), ("/.dockerenv", "docker")):
        here = machine.exists(path)
        print(f"{path}: {say('present' if here else 'absent')}", file=out)
        if found is None and here:
            found = (name, path)
    cgroup = machine.read("/proc/1/cgroup")
    if cgroup.text is not None:
        lines = cgroup.text.strip().splitlines()
        more = say("and-more") if len(lines) > 1 else ""
        print(f"/proc/1/cgroup: {lines[-1] if lines else say('empty-in-parentheses')}{more}", file=out)
    if found:
        facts.container, facts.container_why = say("in-container", runtime=found[0]), found[1]
        print(say("verdict-because", verdict=facts.container, why=found[1]), file=out)
        print(say("shared-kernel"), file=out)
    else:
        print(say("no-container"), file=out)
# --8<-- [end:container]


# ---- Inside (3): the clock --------------------------------------------------------------
CLOCKSOURCES = {  # Linux's clock sources by name, and what each one is
    "kvm-clock": {"ja": "KVMの準仮想化クロック（kvmclock）", "en": "KVM's paravirtual clock (kvmclock)"},
    "tsc": {"ja": "CPUのタイムスタンプカウンター", "en": "the CPU's time stamp counter"},
    "xen": {"ja": "Xenの準仮想化クロック", "en": "Xen's paravirtual clock"},
    "hyperv_clocksource_tsc_page": {"ja": "Hyper-Vの参照TSCページ", "en": "Hyper-V's reference TSC page"},
    "hpet": {"ja": "HPET（チップセットのタイマー）", "en": "HPET (the chipset's timer)"},
    "acpi_pm": {"ja": "ACPIの電源管理タイマー", "en": "the ACPI power management timer"},
    "arch_sys_counter": {"ja": "Armの汎用タイマー", "en": "the Arm generic timer"},
}


def check_clock(machine: Machine, flags: set[str], facts: Facts, out) -> None:
    section(say("section-clock"), out)
    base = "/sys/devices/system/clocksource/clocksource0"
    current = machine.line(f"{base}/current_clocksource")
    available = machine.line(f"{base}/available_clocksource")
    if current.text is None:
        print(say("clocksource", name=current.unknown()), file=out)
    else:
        facts.clocksource = current.text
        meaning = CLOCKSOURCES[current.text][reader_language()] if current.text in CLOCKSOURCES else say("not-in-table")
        print(say("clocksource-meaning", name=current.text, meaning=meaning), file=out)
    print(say("available", names=available.text if available.text is not None else available.unknown()), file=out)
    if flags:
        marks = say("list-separator").join(f"{f} {say('yes' if f in flags else 'no')}"
                                          for f in ("constant_tsc", "nonstop_tsc"))
        print(say("tsc-flags", marks=marks), file=out)


# ---- Inside (4): steal time --------------------------------------------------------
# --8<-- [start:steal]
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")


def cpu_times(text: str) -> dict[str, int] | None:
    """The first line of /proc/stat (cpu, the sum over all CPUs), by proc(5)'s field names."""
    for line in text.splitlines():
        words = line.split()
        if words and words[0] == "cpu":
            values = [int(w) for w in words[1:]]
            return dict(zip(STAT_FIELDS, values + [0] * (len(STAT_FIELDS) - len(values))))
    return None


def busy_total(t: dict[str, int]) -> int:
    # guest and guest_nice are already counted in user and nice, so leave them out (proc(5))
    return sum(v for k, v in t.items() if k not in ("guest", "guest_nice"))


def check_steal(machine: Machine, sample: float, kvm_features, facts: Facts, out) -> None:
    section(say("section-steal"), out)
    hz = os.sysconf("SC_CLK_TCK")  # the unit of /proc/stat (USER_HZ): 100 on x86 Linux
    first = machine.read("/proc/stat")
    t0 = cpu_times(first.text or "")
    if t0 is None:
        print(f"/proc/stat: {first.unknown() if first.text is None else say('no-cpu-line')}", file=out)
        return
    share = 100 * t0["steal"] / max(1, busy_total(t0))
    print(say("stat-line", hz=hz, steal=t0["steal"], guest=t0["guest"]), file=out)
    print(say("since-boot", seconds=t0["steal"] / hz, share=share), file=out)
    facts.steal = say("steal-since-boot", share=share)
    if kvm_features is not None:
        print(say("kvm-steal-feature", present=say("yes" if kvm_features >> 5 & 1 else "no")), file=out)
    if machine.root is not None:
        print(say("recent-recorded"), file=out)
    elif sample > 0:
        time.sleep(sample)
        t1 = cpu_times(machine.read("/proc/stat").text or "")
        if t1 is not None:
            d = {k: t1[k] - t0[k] for k in t0}
            total = max(1, busy_total(d))
            pct = {k: 100 * d[k] / total for k in ("user", "system", "idle", "steal")}
            print(say("recent", sample=sample, **pct), file=out)
            facts.steal += say("steal-recent", sample=sample, steal=pct["steal"])
# --8<-- [end:steal]


# ---- Inside (5): virtio devices ---------------------------------------------------
# --8<-- [start:virtio]
VIRTIO_IDS = {  # virtio device IDs (VIRTIO 1.2 §5, Linux's include/uapi/linux/virtio_ids.h): (name, detail)
    1: {"ja": ("ネットワーク", "net"), "en": ("network", "net")},
    2: {"ja": ("ブロック", "block"), "en": ("block", "block")},
    3: {"ja": ("コンソール", "console"), "en": ("console", "console")},
    4: {"ja": ("乱数源", "rng"), "en": ("entropy source", "rng")},
    5: {"ja": ("メモリバルーン", "balloon、従来型"), "en": ("memory balloon", "balloon, traditional")},
    8: {"ja": ("SCSIホスト", "scsi"), "en": ("SCSI host", "scsi")},
    9: {"ja": ("9P", "9p"), "en": ("9P", "9p")},
    13: {"ja": ("メモリバルーン", "memory balloon"), "en": ("memory balloon", "memory balloon")},
    16: {"ja": ("GPU", "gpu"), "en": ("GPU", "gpu")},
    18: {"ja": ("入力", "input"), "en": ("input", "input")},
    19: {"ja": ("ソケット", "vsock"), "en": ("socket", "vsock")},
    20: {"ja": ("暗号", "crypto"), "en": ("crypto", "crypto")},
    23: {"ja": ("IOMMU", "iommu"), "en": ("IOMMU", "iommu")},
    24: {"ja": ("メモリ", "mem"), "en": ("memory", "mem")},
    25: {"ja": ("サウンド", "sound"), "en": ("sound", "sound")},
    26: {"ja": ("ファイルシステム", "fs"), "en": ("file system", "fs")},
    27: {"ja": ("PMEM", "pmem"), "en": ("PMEM", "pmem")},
}


def transport(machine: Machine, name: str) -> str:
    real = os.path.realpath(machine.real(f"/sys/bus/virtio/devices/{name}"))
    parent = os.path.basename(os.path.dirname(real))
    if "/pci" in real:
        return f"PCI {parent}"
    if "virtio-mmio" in real or "/platform/" in real:
        return f"MMIO {parent}"
    if "/css" in real or "ccw" in real:
        return f"CCW {parent}"
    return say("transport-unknown")


def check_virtio(machine: Machine, facts: Facts, out) -> None:
    section(say("section-virtio"), out)
    names = machine.listdir("/sys/bus/virtio/devices")
    if names is None:
        print(say("virtio-missing"), file=out)
    elif not names:
        print(say("virtio-empty"), file=out)
    for name in names or []:
        dev = machine.line(f"/sys/bus/virtio/devices/{name}/device")
        uevent = machine.read(f"/sys/bus/virtio/devices/{name}/uevent").text or ""
        driver = dict(l.split("=", 1) for l in uevent.splitlines() if "=" in l).get("DRIVER", say("none"))
        if dev.text is None:
            print(f"  {name}: {dev.unknown()}", file=out)
            continue
        try:
            number = int(dev.text, 16)
        except ValueError:
            print(say("virtio-bad-id", name=name, text=dev.text), file=out)
            continue
        if number in VIRTIO_IDS:
            kind, detail = VIRTIO_IDS[number][reader_language()]
            facts.virtio.append(kind)
            kind = say("virtio-kind", kind=kind, detail=detail)
        else:
            kind = say("not-in-table")
            facts.virtio.append(kind)
        print(say("virtio-device", name=name, number=number, kind=kind, driver=driver,
                  transport=transport(machine, name)), file=out)
    for bus, label in (("/sys/bus/xen/devices", "xen-devices"), ("/sys/bus/vmbus/devices", "vmbus-devices")):
        others = machine.listdir(bus)
        if others:
            shown = say("list-separator").join(others[:6]) + ("…" if len(others) > 6 else "")
            print(say("other-bus", label=say(label), bus=bus, count=len(others), shown=shown), file=out)
# --8<-- [end:virtio]


# ---- Inside (6): can KVM run here? ------------------------------------------------------
# --8<-- [start:kvm-capable]
def check_kvm(machine: Machine, flags: set[str], facts: Facts, out) -> bool:
    """Can this machine use KVM? This also decides whether the outside part runs."""
    section(say("section-kvm"), out)
    assist = [f for f in ("vmx", "svm") if f in flags]
    print(say("assist-flags", flags=say("list-separator").join(assist) if assist else say("no-assist")), file=out)
    present = machine.exists("/dev/kvm")
    usable = present and (machine.root is not None or os.access("/dev/kvm", os.R_OK | os.W_OK))
    if not present:
        print(say("kvm-absent"), file=out)
    elif machine.root is not None:
        print(say("kvm-recorded"), file=out)
    else:
        print(say("kvm-readable" if usable else "kvm-unreadable"), file=out)
    modules = [m for m in machine.listdir("/sys/module") or [] if m == "kvm" or m.startswith("kvm_")]
    print(say("modules", names=say("list-separator").join(modules) if modules else say("no-modules")), file=out)
    for mod in ("kvm_intel", "kvm_amd"):
        nested = machine.line(f"/sys/module/{mod}/parameters/nested")
        if nested.text is not None:
            print(say("nested-parameter", module=mod, value=nested.text), file=out)
    if present and not usable:
        facts.kvm = say("kvm-no-access")
    elif present and assist:
        facts.kvm = say("kvm-usable", assist="Intel VT-x" if "vmx" in assist else "AMD-V")
    elif present:
        facts.kvm = say("kvm-usable-no-assist")
    elif assist and facts.container_why:
        facts.kvm = say("kvm-not-passed")
    elif assist:
        facts.kvm = say("kvm-no-module")
    elif "hypervisor" in flags:
        facts.kvm = say("kvm-hidden")
    else:
        facts.kvm = say("kvm-disabled")
    print(say("verdict", verdict=facts.kvm), file=out)
    return usable and machine.root is None
# --8<-- [end:kvm-capable]


# ---- Outside: a small VM seen from the host -------------------------------------------------
def load_kvm_hello():
    """Import kvm_hello.py (Lab 1) from the same directory; no copy of it here."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    import kvm_hello  # noqa: E402  (saved from the page's link, next to this file)
    return kvm_hello


def fd_table() -> list[tuple[str, str]]:
    rows = []
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            rows.append((name, os.readlink(f"/proc/self/fd/{name}")))
        except OSError:  # the fd that listdir opened for a moment is closed by now
            pass
    return rows


def thread_table() -> list[tuple[str, str]]:
    rows = []
    for tid in sorted(os.listdir("/proc/self/task"), key=int):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                rows.append((tid, f.read().strip()))
        except OSError:  # a thread that ended while we were counting
            pass
    return rows


def maps_lines(*addrs: int) -> list[str]:
    """The lines of /proc/self/maps that hold one of addrs, and those of KVM's files."""
    lines = []
    with open("/proc/self/maps") as f:
        for line in f:
            start, end = (int(x, 16) for x in line.split()[0].split("-"))
            if "kvm" in line or any(start <= a < end for a in addrs):
                lines.append(line.rstrip())
    return lines


# --8<-- [start:outside]
VCPU_THREAD_NAME = "CPU 0/KVM"  # like the name QEMU gives with debug-threads=on


def outside(kvm_hello, out) -> None:
    """Make a small VM with kvm_hello.py's functions and show how this process looks from the host."""
    ready, release = threading.Event(), threading.Event()
    shared: dict = {}

    def vcpu_thread(stack, kvm_fd, vm_fd):
        # a vCPU's ioctls must come from the thread that created the vCPU (api.rst §1)
        try:
            name = ctypes.create_string_buffer(VCPU_THREAD_NAME.encode())
            _libc.prctl(PR_SET_NAME, ctypes.addressof(name), 0, 0, 0)  # shows in /proc/self/task/TID/comm
            vcpu = kvm_hello.Vcpu(stack, kvm_fd, vm_fd)
            kvm_hello.setup_real_mode(vcpu, entry=kvm_hello.GUEST_ADDR)
            text = _StringOut()
            shared["counts"] = kvm_hello.run_guest(vcpu, text)
            shared["guest_output"] = text.value
            shared["run_size"] = vcpu.shared.size
            shared["run_addr"] = vcpu.shared.addr
        except BaseException as e:  # the calling thread reports the exception
            shared["error"] = e
        finally:
            ready.set()
            release.wait(30)  # keep this thread alive until the tables have been read

    with ExitStack() as stack:
        kvm_fd = kvm_hello.open_kvm("/dev/kvm")
        stack.callback(os.close, kvm_fd)
        kvm_hello.check_api_version(kvm_fd)
        vm_fd = kvm_hello.create_vm(stack, kvm_fd)
        memory = kvm_hello.add_memory(stack, vm_fd, slot=0, guest_phys_addr=kvm_hello.GUEST_ADDR,
                                      size=kvm_hello.GUEST_MEM_SIZE)
        memory.write(0, kvm_hello.GUEST_CODE)
        memory.write(kvm_hello.MESSAGE_ADDR - kvm_hello.GUEST_ADDR, kvm_hello.MESSAGE + b"\0")
        worker = threading.Thread(target=vcpu_thread, args=(stack, kvm_fd, vm_fd), daemon=True)
        worker.start()
        try:
            if not ready.wait(30):
                raise kvm_hello.KvmError(say("vcpu-timeout"))
            if "error" in shared:
                raise shared["error"]
            fds, threads = fd_table(), thread_table()
            maps = maps_lines(memory.addr, shared["run_addr"])
        finally:
            release.set()
            worker.join(30)
        report_outside(kvm_hello, memory, shared, fds, threads, maps, worker.native_id, out)
# --8<-- [end:outside]


class _StringOut:
    """A small holder for the guest output run_guest writes (write() as in io.StringIO)."""

    def __init__(self):
        self.value = ""

    def write(self, text: str) -> None:
        self.value += text


def report_outside(kvm_hello, memory, shared, fds, threads, maps, vcpu_tid, out) -> None:
    guest = shared["guest_output"].rstrip("\n")
    counts = shared["counts"]
    print(say("guest-output", text=guest, io=counts["KVM_EXIT_IO"], hlt=counts["KVM_EXIT_HLT"]), file=out)
    print(say("fd-title"), file=out)
    for name, target in fds:
        if target == "/dev/kvm" or target.startswith("anon_inode:kvm"):
            print(f"  {name:>3} -> {target}", file=out)
    print(say("task-title"), file=out)
    main_tid = str(os.getpid())
    for tid, comm in threads:
        role = say("role-main" if tid == main_tid else
                   "role-vcpu" if tid == str(vcpu_tid) else
                   "role-kvm" if comm.startswith("kvm") else "role-other")
        print(f"  {tid:>7} {comm:<16} {role}", file=out)
    print(say("maps-title"), file=out)
    for line in maps:
        start = int(line.split("-", 1)[0], 16)
        note = (say("maps-guest", start=kvm_hello.GUEST_ADDR, end=kvm_hello.GUEST_ADDR + kvm_hello.GUEST_MEM_SIZE - 1)
                if start <= memory.addr < start + memory.size or start == memory.addr else
                say("maps-run", size=shared["run_size"]) if "kvm-vcpu" in line else "")
        fields = line.split()
        name = " ".join(fields[5:]) or say("anonymous")
        print(f"  {fields[0]} {fields[1]} {name}" + (f"  <- {note}" if note else ""), file=out)


def check_outside(machine: Machine, can_run: bool, no_outside: bool, facts: Facts, out) -> int:
    section(say("section-outside"), out)
    reason = None
    if no_outside:
        reason = say("skip-no-outside")
    elif machine.root is not None:
        reason = say("skip-root")
    elif platform.machine() not in ("x86_64", "AMD64"):
        reason = say("skip-arch", machine=platform.machine())
    elif not can_run:
        reason = say("skip-no-kvm")
    if reason:
        facts.outside = say("skipped-because", reason=reason)
        print(say("skipped", reason=reason), file=out)
        return 0
    try:
        kvm_hello = load_kvm_hello()
    except ImportError as e:
        facts.outside = say("no-kvm-hello-fact")
        print(say("no-kvm-hello", error=e), file=out)
        return 0
    try:
        outside(kvm_hello, out)
    except kvm_hello.KvmError as e:
        facts.outside = say("failed")
        print(say("error", message=e), file=out)
        return 1
    except OSError as e:
        where = traceback.extract_tb(e.__traceback__)[-1]
        facts.outside = say("failed")
        print(say("system-call-failed", error=e, file=os.path.basename(where.filename), line=where.lineno,
                  code=where.line), file=out)
        return 1
    facts.outside = say("outside-done")
    return 0


# ---- The whole report ------------------------------------------------------------------
def summary(facts: Facts, out) -> None:
    section(say("section-summary"), out)
    print(say("summary-vm", vm=facts.vm, why=facts.vm_why), file=out)
    if facts.container_why:
        print(say("summary-container-because", container=facts.container, why=facts.container_why), file=out)
    else:
        print(say("summary-container", container=facts.container), file=out)
    print(say("summary-clocksource", name=facts.clocksource), file=out)
    print(say("summary-steal", steal=facts.steal), file=out)
    if facts.virtio:
        names = say("list-separator").join(facts.virtio)
        print(say("summary-virtio-names", count=len(facts.virtio), names=names), file=out)
    else:
        print(say("summary-virtio", count=0), file=out)
    print(say("summary-kvm", kvm=facts.kvm), file=out)
    print(say("summary-outside", outside=facts.outside), file=out)


def report(root: str | None, sample: float, no_outside: bool, out=None) -> int:
    out = out or sys.stdout
    machine = Machine(root)
    facts = Facts()
    print(say("title"), file=out)
    print(say("target-tree", root=root) if root else say("target-machine"), file=out)

    cpuid, note = None, ""
    if root is not None:
        recorded = machine.read("/cpuid.txt")
        if recorded.text is None:
            note = say("cpuid-not-recorded", path=recorded.path)
        else:
            cpuid, note = RecordedCpuid(recorded.text), say("cpuid-recorded")
    else:
        try:
            cpuid, note = Cpuid(), say("cpuid-executed")
        except CpuidUnavailable as e:
            note = say("cpuid-unavailable", reason=e)
    try:
        evidence = check_hypervisor(machine, cpuid, note, facts, out)
    finally:
        if cpuid is not None:
            cpuid.close()
    flags = evidence["flags"]
    check_container(machine, facts, out)
    check_clock(machine, flags, facts, out)
    check_steal(machine, sample, evidence["kvm_features"], facts, out)
    check_virtio(machine, facts, out)
    can_run = check_kvm(machine, flags, facts, out)
    out.flush()
    code = check_outside(machine, can_run, no_outside, facts, out)
    summary(facts, out)
    return code


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=say("description"))
    parser.add_argument("--root", metavar="DIR", help=say("help-root"))
    parser.add_argument("--sample", type=float, default=1.0, metavar=say("seconds"), help=say("help-sample"))
    parser.add_argument("--no-outside", action="store_true", help=say("help-no-outside"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.root is not None and not os.path.isdir(args.root):
        print(say("no-root-directory", root=args.root), file=sys.stderr)
        return 2
    try:
        return report(args.root, max(0.0, args.sample), args.no_outside)
    except KeyboardInterrupt:
        print(say("interrupted"), file=sys.stderr)
        return 130
    except Exception as e:  # an unexpected failure, too, gets one line of explanation and its place
        where = traceback.extract_tb(e.__traceback__)[-1]
        print(say("unexpected", kind=type(e).__name__, error=e, file=os.path.basename(where.filename),
                  line=where.lineno), file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Piped into head or less: end quietly, as other command-line tools do.
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
