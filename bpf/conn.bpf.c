// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Connection lifecycle from sock:inet_sock_set_state alone, so no syscall
 * tracepoint is needed for it in any capture mode:
 *  - LISTEN, SYN_SENT: a selected port traces the process at once; a
 *    traced process's connect() makes the socket a client, announced once
 *    ESTABLISHED (before it can send, so before its peer on this host can
 *    read what it sends: the peer learns the client end is traced in time);
 *  - Sonde's own connects are reported once ESTABLISHED (their local port
 *    is known only then), so the receiving end of its exports can be told;
 *  - leaving ESTABLISHED tells userspace a side closed (end of a response
 *    framed by EOF); CLOSE releases the socket.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "emit.bpf.h"

/* listen() or connect() on a selected port traces the process from now
 * on, without waiting for userspace to notice the new socket. */
static __always_inline void port_selects(__u16 port)
{
	__u32 key = port;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 trace = SONDE_VERDICT_TRACE;
	__u8 *selected;

	if (sonde_cfg.default_verdict == SONDE_VERDICT_TRACE || tgid == sonde_cfg.self_pid || port == 0)
		return;
	selected = bpf_map_lookup_elem(&open_ports, &key);
	if (!selected || !*selected || proc_verdict_of(tgid) == SONDE_VERDICT_TRACE)
		return;
	bpf_map_update_elem(&proc_verdict, &tgid, &trace, BPF_ANY);
	emit_proc(SONDE_EV_PROC_PORT, SONDE_VERDICT_TRACE, port, true);
}

/* Who connected each client socket of a traced process, by struct sock
 * address: pid_tgid. Written at SYN_SENT (the caller's context), read and
 * deleted at ESTABLISHED or CLOSE (softirq: the current task is anyone). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u64);
} connectors SEC(".maps");

/* connect(), in the caller's context: the local port is not chosen yet. */
static __always_inline void connecting(__u64 skp)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;

	if (tgid == sonde_cfg.self_pid) {
		conn_new(skp, SONDE_ROLE_SELF, false);
	} else if (pid_traced(tgid)) {
		conn_new(skp, SONDE_ROLE_CLIENT, false);
		bpf_map_update_elem(&connectors, &skp, &id, BPF_ANY);
	}
}

/* A traced client's socket is connected: announce it now, for its owner. */
static __always_inline void connected(__u64 skp, struct sonde_conn_info *ci)
{
	__u64 *owner = bpf_map_lookup_elem(&connectors, &skp);

	if (!owner)
		return;
	if (!ci->announced) {
		ci->announced = 1;
		emit_conn_open_for((struct sock *)skp, SONDE_ROLE_CLIENT, *owner);
	}
	bpf_map_delete_elem(&connectors, &skp);
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
		if (newstate == TCP_SYN_SENT)
			connecting(skp);
		return 0;
	}
	ci = bpf_map_lookup_elem(&conns, &skp);
	if (!ci)
		return 0;
	if (ci->role == SONDE_ROLE_SELF) {
		if (newstate == TCP_ESTABLISHED)
			emit_conn_open((struct sock *)ctx->skaddr, SONDE_ROLE_SELF);
		if (newstate == TCP_ESTABLISHED || newstate == TCP_CLOSE)
			bpf_map_delete_elem(&conns, &skp);
		return 0;
	}
	if (newstate == TCP_ESTABLISHED && ci->role == SONDE_ROLE_CLIENT)
		connected(skp, ci);
	if (newstate != TCP_FIN_WAIT1 && newstate != TCP_CLOSE_WAIT && newstate != TCP_CLOSE)
		return 0;
	if (!ci->ignored && ci->announced) {
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
		bpf_map_delete_elem(&connectors, &skp);
	}
	return 0;
}
