// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connection lifecycle: connect() and accept() by traced processes give a
 * socket its role; leaving ESTABLISHED tells userspace that a side closed
 * (end of a response framed by EOF) and TCP_CLOSE releases the socket.
 * Syscall and sock tracepoints only, so every capture mode shares it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "emit.bpf.h"

#define EINPROGRESS 115

static __always_inline int enter_call(__u8 op, __u32 fd)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct sonde_inflight in = {};

	/* Sonde's own connects are followed too, only to be named (conn_opened). */
	if (!pid_traced(tgid) && !(op == SONDE_OP_CONNECT && tgid == sonde_cfg.self_pid))
		return 0;
	in.ts = bpf_ktime_get_ns();
	in.fd = fd;
	in.op = op;
	if (bpf_map_update_elem(&inflight, &id, &in, BPF_ANY))
		count(SONDE_CNT_DROP_INFLIGHT, 1);
	return 0;
}

static __always_inline void conn_opened(struct sock *sk, __u8 role)
{
	__u64 skp = (__u64)sk;
	struct sonde_conn_info ci = { .role = role };
	struct sonde_conn_event *ev;

	/* Overwrite: a recycled struct sock must not inherit the old state. */
	if (role != SONDE_ROLE_SELF) {
		bpf_map_update_elem(&conns, &skp, &ci, BPF_ANY);
		bpf_map_delete_elem(&capture_from, &skp);
	}
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_header(&ev->hdr, SONDE_EV_CONN_OPEN, bpf_ktime_get_ns());
	ev->sock = skp;
	read_tuple(sk, &ev->tuple);
	ev->role = role;
	bpf_ringbuf_submit(ev, rb_flags());
}

static __always_inline int exit_call(__u8 op, long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_inflight *in = bpf_map_lookup_elem(&inflight, &id);
	struct sock *sk;
	__u32 fd;

	if (!in || in->op != op)
		return 0;
	fd = in->fd;
	bpf_map_delete_elem(&inflight, &id);
	if (op == SONDE_OP_CONNECT) {
		if (ret != 0 && ret != -EINPROGRESS)
			return 0;
	} else {
		if (ret < 0)
			return 0;
		fd = ret; /* accept returns the new socket */
	}
	sk = sock_from_fd(fd);
	if (!sk)
		return 0;
	if ((id >> 32) == sonde_cfg.self_pid)
		conn_opened(sk, SONDE_ROLE_SELF);
	else
		conn_opened(sk, op == SONDE_OP_CONNECT ? SONDE_ROLE_CLIENT : SONDE_ROLE_SERVER);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_connect")
int sonde_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(SONDE_OP_CONNECT, ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sonde_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	return exit_call(SONDE_OP_CONNECT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_accept")
int sonde_enter_accept(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(SONDE_OP_ACCEPT, ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int sonde_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	return exit_call(SONDE_OP_ACCEPT, ctx->ret);
}

SEC("tracepoint/syscalls/sys_enter_accept4")
int sonde_enter_accept4(struct trace_event_raw_sys_enter *ctx)
{
	return enter_call(SONDE_OP_ACCEPT, ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int sonde_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return exit_call(SONDE_OP_ACCEPT, ctx->ret);
}

/* listen() or connect() on a selected port traces the process from now
 * on, without waiting for userspace to notice the new socket. */
static __always_inline void port_selects(__u16 port)
{
	__u32 key = port;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 trace = SONDE_VERDICT_TRACE;
	__u8 *selected;

	if (sonde_cfg.default_verdict == SONDE_VERDICT_TRACE || tgid == sonde_cfg.self_pid)
		return;
	selected = bpf_map_lookup_elem(&open_ports, &key);
	if (!selected || !*selected || proc_verdict_of(tgid) == SONDE_VERDICT_TRACE)
		return;
	bpf_map_update_elem(&proc_verdict, &tgid, &trace, BPF_ANY);
	emit_proc(SONDE_EV_PROC_PORT, SONDE_VERDICT_TRACE, port, true);
}

/* Runs for every TCP state change on the host, so it does one map lookup
 * and leaves unless the socket belongs to a traced process. */
SEC("tracepoint/sock/inet_sock_set_state")
int sonde_sock_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	__u64 skp = (__u64)ctx->skaddr;
	int newstate = ctx->newstate;
	struct sonde_conn_info *ci;
	struct sonde_state_event *ev;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_LISTEN || newstate == TCP_SYN_SENT) {
		port_selects(ctx->sport);
		return 0;
	}
	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_CLOSE_WAIT && newstate != TCP_CLOSE)
		return 0;
	ci = bpf_map_lookup_elem(&conns, &skp);
	if (!ci)
		return 0;
	if (!ci->ignored) {
		ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
		if (ev) {
			fill_header(&ev->hdr, SONDE_EV_CONN_STATE, bpf_ktime_get_ns());
			ev->sock = skp;
			ev->old_state = ctx->oldstate;
			ev->new_state = newstate;
			bpf_ringbuf_submit(ev, rb_flags());
		} else {
			count(SONDE_CNT_DROP_CONTROL, 1);
		}
	}
	if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&conns, &skp);
		bpf_map_delete_elem(&capture_from, &skp);
	}
	return 0;
}
