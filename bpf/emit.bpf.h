/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process filter, counters, and writing records to the ring buffer. */
#ifndef __SONDE_EMIT_BPF_H
#define __SONDE_EMIT_BPF_H

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"
#include "sock.bpf.h"

/* This CPU's counters: one lookup per program run. */
static __always_inline struct sonde_counters *counters_here(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline void count(__u32 idx, __u64 n)
{
	struct sonde_counters *c = counters_here();

	if (c && idx < SONDE_CNT_MAX)
		c->n[idx] += n; /* per-CPU slot: no other writer */
}

/* The first thing every data program asks: a map lookup, nothing more. */
static __always_inline __u8 proc_verdict_of(__u32 tgid)
{
	__u8 *v;

	if (tgid == sonde_cfg.self_pid)
		return SONDE_VERDICT_IGNORE;
	v = bpf_map_lookup_elem(&proc_verdict, &tgid);
	return v ? *v : sonde_cfg.default_verdict;
}

static __always_inline bool pid_traced(__u32 tgid)
{
	return proc_verdict_of(tgid) != SONDE_VERDICT_IGNORE;
}

/* Batching (ARCHITECTURE decision 2): no wake-up until enough data waits;
 * userspace also drains on a short timer. */
static __always_inline __u64 rb_flags(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= sonde_cfg.wakeup_bytes ?
		       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_header(struct sonde_event_header *h, __u8 type, __u64 ts)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->ts = ts;
	h->pid = id >> 32;
	h->tid = (__u32)id;
	h->type = type;
}

/* The low 32 bits of the current thread's user stack pointer (a thread's
 * stack spans far less than 4 GiB, so differences stay exact); 0 where
 * the kernel has no bpf_task_pt_regs (before 5.15). */
static __always_inline __u32 user_sp_lo(void)
{
	struct pt_regs *regs;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return regs ? (__u32)PT_REGS_SP_CORE(regs) : 0;
}

/* A process record about the current task. */
static __always_inline void fill_proc(struct sonde_proc_event *ev, __u8 type, __u8 verdict, __u16 port)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	fill_header(&ev->hdr, type, bpf_ktime_get_ns());
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->verdict = verdict;
	ev->port = port;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
}

/* Control records that userspace should act on at once (a new process to
 * judge) force a wake-up. */
static __always_inline void emit_proc(__u8 type, __u8 verdict, __u16 port, bool wake)
{
	struct sonde_proc_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_proc(ev, type, verdict, port);
	bpf_ringbuf_submit(ev, wake ? BPF_RB_FORCE_WAKEUP : rb_flags());
}

/* The addresses and role of a socket, sent once: data records do not
 * repeat them. `owner`: the pid_tgid it is announced for (0: the current
 * task's). */
static __always_inline void emit_conn_open_for(struct sock *sk, __u8 role, __u64 owner)
{
	struct sonde_conn_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_header(&ev->hdr, SONDE_EV_CONN_OPEN, bpf_ktime_get_ns());
	if (owner) {
		ev->hdr.pid = owner >> 32;
		ev->hdr.tid = (__u32)owner;
	}
	ev->sock = (__u64)sk;
	read_tuple(sk, &ev->tuple);
	ev->role = role;
	bpf_ringbuf_submit(ev, rb_flags());
}

static __always_inline void emit_conn_open(struct sock *sk, __u8 role)
{
	emit_conn_open_for(sk, role, 0);
}

/* Start following a socket: a fresh entry in conns (a recycled struct sock
 * inherits nothing: no skip, not ignored). */
static __always_inline void conn_new(__u64 skp, __u8 role, bool announced)
{
	struct sonde_conn_info ci = { .role = role, .announced = announced };

	bpf_map_update_elem(&conns, &skp, &ci, BPF_ANY);
}

/*
 * The kernel's record of a TCP socket, created on first sight (role
 * unknown: accepted, or opened before Sonde), and announced with its
 * addresses before its first data record. A socket already in conns is
 * TCP by construction; others are checked first. NULL: not TCP, closed,
 * or the map is full. *first: this is the socket's first data call we see.
 */
static __always_inline struct sonde_conn_info *conn_get(struct sock *sk, bool *first)
{
	__u64 skp = (__u64)sk;
	struct sonde_conn_info *ci = bpf_map_lookup_elem(&conns, &skp);

	*first = false;
	if (!ci) {
		if (!sk_is_tcp(sk) || sk_is_closed(sk))
			return NULL;
		conn_new(skp, SONDE_ROLE_UNKNOWN, true);
		emit_conn_open(sk, SONDE_ROLE_UNKNOWN);
		*first = true;
		return bpf_map_lookup_elem(&conns, &skp);
	}
	if (!ci->announced) {
		ci->announced = 1;
		emit_conn_open(sk, ci->role);
		*first = true;
	}
	return ci;
}

/* TCP sequence number just past the bytes the process has sent (write_seq)
 * or read (copied_seq): the stream position records carry. */
static __always_inline __u32 stream_end(struct sock *sk, bool is_send)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	return is_send ? BPF_CORE_READ(tp, write_seq) : BPF_CORE_READ(tp, copied_seq);
}

#endif /* __SONDE_EMIT_BPF_H */
