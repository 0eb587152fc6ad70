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

/* Room to build an exec record, which is too big for the BPF stack. One
 * per CPU, written and read by sonde_proc_exec only. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sonde_exec_event);
} exec_scratch SEC(".maps");

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

/* The file name execve was given, from the tracepoint's __data_loc field. */
static __always_inline __u16 read_exec_filename(struct trace_event_raw_sched_process_exec *ctx, char *dst)
{
	unsigned int loc = ctx->__data_loc_filename & 0xffff;
	long n = bpf_probe_read_kernel_str(dst, SONDE_EXEC_FILENAME_MAX, (void *)ctx + loc);

	return n > 1 ? n - 1 : 0; /* without its NUL */
}

/* The head of the new image's environment, in its own (just built) stack. */
static __always_inline __u32 read_exec_env(char *dst)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 start = BPF_CORE_READ(task, mm, env_start);
	__u64 end = BPF_CORE_READ(task, mm, env_end);
	__u32 n;

	if (end <= start)
		return 0;
	n = end - start > SONDE_EXEC_ENV_MAX ? SONDE_EXEC_ENV_MAX : end - start;
	/* For the verifier: 1..SONDE_EXEC_ENV_MAX. */
	n = ((n - 1) & (SONDE_EXEC_ENV_MAX - 1)) + 1;
	if (bpf_probe_read_user(dst, n, (void *)start))
		return 0;
	return n;
}

SEC("tracepoint/sched/sched_process_exec")
int sonde_proc_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 pending = SONDE_VERDICT_PENDING;
	struct sonde_exec_event *ev;
	__u32 zero = 0, size;

	if (tgid == sonde_cfg.self_pid)
		return 0;
	/* With selectors active, a new image is traced until userspace has
	 * judged it, so a short-lived client loses nothing to the race. */
	if (sonde_cfg.default_verdict != SONDE_VERDICT_TRACE &&
	    !bpf_map_lookup_elem(&proc_verdict, &tgid))
		bpf_map_update_elem(&proc_verdict, &tgid, &pending, BPF_NOEXIST);

	ev = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!ev)
		return 0;
	fill_proc(&ev->proc, SONDE_EV_PROC_EXEC, proc_verdict_of(tgid), 0);
	ev->filename_len = read_exec_filename(ctx, ev->filename);
	ev->env_len = read_exec_env(ev->env);
	size = __builtin_offsetof(struct sonde_exec_event, env) + (ev->env_len & (2 * SONDE_EXEC_ENV_MAX - 1));
	if (size > sizeof(*ev))
		size = sizeof(*ev);
	/* Userspace judges a new process at once (under selectors, it is pending). */
	if (bpf_ringbuf_output(&events, ev, size, BPF_RB_FORCE_WAKEUP))
		count(SONDE_CNT_DROP_CONTROL, 1);
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
