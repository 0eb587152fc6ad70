// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Feature probes for `sonde doctor` and capture-mode selection: each
 * program is loaded and attached on its own, and does nothing. Whether
 * that works is the answer.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("kprobe/tcp_sendmsg")
int probe_kprobe(void *ctx) { return 0; }

SEC("fentry/tcp_sendmsg")
int BPF_PROG(probe_fentry) { return 0; }

SEC("tracepoint/syscalls/sys_enter_write")
int probe_tracepoint(void *ctx) { return 0; }

SEC("raw_tp/sched_process_fork")
int probe_raw_tp(void *ctx) { return 0; }

char LICENSE[] SEC("license") = "Dual BSD/GPL";
