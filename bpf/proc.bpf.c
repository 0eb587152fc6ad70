// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Process lifecycle for the in-kernel process filter: children of traced
 * processes are traced from their first instruction (pre-fork servers),
 * exec'd images are re-judged by userspace, and exited processes leave
 * the filter.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "emit.bpf.h"

/* raw_tp, not tp: the child's task_struct tells a new process from a new thread. */
SEC("raw_tp/sched_process_fork")
int BPF_PROG(sonde_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	__u8 *v;

	if (ctgid == ptgid)
		return 0; /* a thread: the filter is per process */
	v = bpf_map_lookup_elem(&proc_verdict, &ptgid);
	if (v && *v != SONDE_VERDICT_IGNORE)
		bpf_map_update_elem(&proc_verdict, &ctgid, v, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int sonde_proc_exec(void *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 pending = SONDE_VERDICT_PENDING;
	__u8 verdict;

	if (tgid == sonde_cfg.self_pid)
		return 0;
	/* With selectors active, a new image is traced until userspace has
	 * judged it, so a short-lived client loses nothing to the race. */
	if (sonde_cfg.default_verdict != SONDE_VERDICT_TRACE &&
	    !bpf_map_lookup_elem(&proc_verdict, &tgid))
		bpf_map_update_elem(&proc_verdict, &tgid, &pending, BPF_NOEXIST);
	verdict = proc_verdict_of(tgid);
	emit_proc(SONDE_EV_PROC_EXEC, verdict, 0, sonde_cfg.default_verdict != SONDE_VERDICT_TRACE);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int sonde_proc_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (tgid != (__u32)id)
		return 0; /* a thread, not the process */
	if (!pid_traced(tgid))
		return 0;
	bpf_map_delete_elem(&proc_verdict, &tgid);
	emit_proc(SONDE_EV_PROC_EXIT, SONDE_VERDICT_IGNORE, 0, false);
	return 0;
}
