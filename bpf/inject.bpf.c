// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Context propagation (ebpf.context_propagation: headers): a W3C
 * `traceparent` written into the plaintext HTTP/1 requests traced
 * processes send, so the service across the network continues their
 * trace. A separate object (sonde-inject.bpf.o), loaded only when enabled:
 * the capture path is the same with it or without it.
 *
 *  - sonde_inject_sockops (cgroup sock_ops, on the root cgroup): every
 *    client TCP socket, once established, goes into the sockhash, which
 *    puts sk_msg on its send path. Who connected is not known there (it
 *    runs when the SYN-ACK arrives, in softirq), so every client socket
 *    goes in; the process filter runs per send.
 *  - sonde_inject_msg (sk_msg on that sockhash): inside sendmsg, before
 *    the bytes reach TCP. A process not traced (or still pending
 *    judgment) passes at once (one map lookup). For a traced one, a send that starts an HTTP/1 request and
 *    holds its whole header block, with no traceparent in it, gets
 *    "traceparent: 00-<trace>-<span>-01\r\n" after its request line, and a
 *    SONDE_EV_INJECT record goes to userspace, ahead of the send's data
 *    records (which carry the user's bytes, without the header).
 *
 * Linked with maps.o: userspace hands it the capture object's maps by fd
 * (bpf_map__reuse_fd), so its records share the ring, in order, and it
 * reads the same process filter and counters. Only inject_socks is its own.
 * Helpers: none newer than 5.0 (msg_push_data, msg_pop_data), so it loads
 * on Debian's 6.1.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "emit.bpf.h"

#define SK_PASS 1
#define BPF_NOEXIST 1

/* Header bytes after the request line looked at for the end of the block
 * and an existing traceparent (each byte is a few branches the verifier
 * keeps pending: 1 KiB stays well inside its limit of 8192). */
#define INJECT_SCAN 1024
/* Longest method token ("OPTIONS", "PROPFIND", ...). */
#define METHOD_MAX 16
/* Longest request line looked for (a power of two: used as a mask). */
#define LINE_MAX 1024

/* Client sockets on whose sends sk_msg runs: socket cookie -> cookie.
 * Written by sonde_inject_sockops (on ACTIVE_ESTABLISHED); the kernel
 * removes a socket when it closes; read by nobody (sk_msg is attached to
 * the map itself, userspace never looks in). */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u64);
} inject_socks SEC(".maps");

SEC("sockops")
int sonde_inject_sockops(struct bpf_sock_ops *skops)
{
	__u64 key;

	if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	if (skops->family != AF_INET && skops->family != AF_INET6)
		return 1;
	key = bpf_get_socket_cookie(skops);
	if (bpf_sock_hash_update(skops, &inject_socks, &key, BPF_NOEXIST))
		count(SONDE_CNT_INJECT_UNTRACKED, 1);
	return 1;
}

static __always_inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Does the line at p (12 bytes readable) start with "traceparent:", any case? */
static __always_inline bool is_traceparent(const char *p)
{
	return lower(p[0]) == 't' && lower(p[1]) == 'r' && lower(p[2]) == 'a' && lower(p[3]) == 'c' &&
	       lower(p[4]) == 'e' && lower(p[5]) == 'p' && lower(p[6]) == 'a' && lower(p[7]) == 'r' &&
	       lower(p[8]) == 'e' && lower(p[9]) == 'n' && lower(p[10]) == 't' && p[11] == ':';
}

enum head_scan {
	SCAN_INJECT = 0,  /* a request head, whole, without traceparent */
	SCAN_PRESENT = 1, /* it carries a traceparent already */
	SCAN_NOT = 2,     /* not an HTTP/1 request head, or not all of it here */
};


/*
 * Scanning is split into global functions: the verifier checks each once,
 * from a fresh packet range, and their callers see their answers as any
 * number, so no loop's exit multiplies the paths of the next one.
 */

/* Does the message (pulled from its start) open with a method token and a space? */
__noinline int sonde_inject_method(struct sk_msg_md *msg)
{
	const char *data, *end, *p;

	if (!msg)
		return 0;
	data = (const char *)(long)msg->data;
	end = (const char *)(long)msg->data_end;
	for (__u32 i = 0; i <= METHOD_MAX; i++) {
		p = data + i;
		if (p + 1 > end)
			return 0;
		if (*p == ' ')
			return i > 0;
		if (*p < 'A' || *p > 'Z')
			return 0;
	}
	return 0;
}

/* Where the message's first LF is, within LINE_MAX bytes; -1: none. */
__noinline int sonde_inject_first_lf(struct sk_msg_md *msg)
{
	const char *data, *end, *p;

	if (!msg)
		return -1;
	data = (const char *)(long)msg->data;
	end = (const char *)(long)msg->data_end;
	for (__u32 i = 0; i < LINE_MAX; i++) {
		p = data + i;
		if (p + 1 > end)
			return -1;
		if (*p == '\n')
			return i;
	}
	return -1;
}

/*
 * The end of the request line, "METHOD SP target SP HTTP/1.x CRLF", of the
 * message (pulled from its start): the offset just past its LF, or -1 when
 * the message does not start with one.
 */
static __always_inline int request_line_end(struct sk_msg_md *msg)
{
	const char *data, *end, *p;
	__u32 from;
	int lf;

	if (!sonde_inject_method(msg))
		return -1;
	lf = sonde_inject_first_lf(msg);
	/* The shortest: "GET / HTTP/1.1\r\n", LF at 15. */
	if (lf < 15 || lf >= LINE_MAX)
		return -1;
	data = (const char *)(long)msg->data;
	end = (const char *)(long)msg->data_end;
	/* A variable offset, not a negative constant one: the verifier checks those apart. */
	from = lf - 10;
	barrier_var(from);
	if (from > LINE_MAX)
		return -1;
	p = data + from;
	if (p + 11 > end)
		return -1;
	if (p[0] != ' ' || p[1] != 'H' || p[2] != 'T' || p[3] != 'T' || p[4] != 'P' || p[5] != '/' || p[6] != '1' ||
	    p[7] != '.' || p[8] < '0' || p[8] > '9' || p[9] != '\r')
		return -1;
	return lf + 1;
}

/*
 * The last bytes of the message, from `off` (fewer than 13 are left):
 * SCAN_INJECT if the LF there is followed by the empty line ("\n\r\n").
 * No traceparent line fits here.
 */
__noinline int sonde_inject_tail(struct sk_msg_md *msg, __u32 off)
{
	const char *data, *end, *p;

	if (!msg)
		return SCAN_NOT;
	data = (const char *)(long)msg->data;
	end = (const char *)(long)msg->data_end;
	off &= 2 * LINE_MAX - 1;
	for (__u32 k = 0; k < 13; k++) {
		p = data + off + k;
		if (p + 3 > end)
			return SCAN_NOT;
		if (p[0] == '\n' && p[1] == '\r' && p[2] == '\n')
			return SCAN_INJECT;
	}
	return SCAN_NOT;
}

/*
 * The header lines after the request line (which ends at `at`): SCAN_INJECT
 * when the empty line that ends them is in the message and none of them is
 * a traceparent. One pass, bounded; a global function, so `at` is any
 * number to the verifier and the loop is checked once. Every byte is
 * looked at with 13 readable, by the one bounds check, so every path
 * through an iteration leaves the same state and the verifier prunes them
 * at the next; the last few bytes go to sonde_inject_tail.
 */
__noinline int sonde_inject_headers(struct sk_msg_md *msg, __u32 at)
{
	const char *data, *end, *p;

	if (!msg || at < 16 || at > LINE_MAX)
		return SCAN_NOT;
	data = (const char *)(long)msg->data;
	end = (const char *)(long)msg->data_end;
	/* The request line's LF is at at - 1; masked, so the verifier knows
	 * the bound without a branch. */
	at = (at - 1) & (LINE_MAX - 1);
	/* p walks the LFs: the one ending the request line, then each header's. */
	for (__u32 j = 0; j < INJECT_SCAN; j++) {
		p = data + at + j;
		if (p + 13 > end)
			return sonde_inject_tail(msg, at + j);
		if (p[0] != '\n')
			continue;
		if (p[1] == '\r' && p[2] == '\n')
			return SCAN_INJECT;
		if (is_traceparent(p + 1))
			return SCAN_PRESENT;
	}
	return SCAN_NOT;
}

static __always_inline void put_hex(char *out, const __u8 *in, __u32 n)
{
	for (__u32 i = 0; i < n && i < 16; i++) {
		__u8 hi = in[i] >> 4, lo = in[i] & 15;

		out[2 * i] = hi < 10 ? '0' + hi : 'a' + hi - 10;
		out[2 * i + 1] = lo < 10 ? '0' + lo : 'a' + lo - 10;
	}
}

/* Random ids, never all zero (W3C Trace Context: invalid). */
static __always_inline void new_ids(__u8 *trace_id, __u8 *span_id)
{
	__u32 *t = (__u32 *)trace_id, *s = (__u32 *)span_id;

	t[0] = bpf_get_prandom_u32();
	t[1] = bpf_get_prandom_u32();
	t[2] = bpf_get_prandom_u32();
	t[3] = bpf_get_prandom_u32() | 1;
	s[0] = bpf_get_prandom_u32();
	s[1] = bpf_get_prandom_u32() | 1 << 24;
}

/* The connection as its SONDE_EV_CONN_OPEN named it (sock.bpf.h read_tuple). */
static __always_inline void msg_tuple(const struct sk_msg_md *msg, struct sonde_tuple *t)
{
	/* Every field read with its own constant offset: the verifier refuses a
	 * context pointer moved by a variable, which a shared tail could become. */
	__u32 rport = msg->remote_port, family = msg->family, lport = msg->local_port;
	__u32 l4 = msg->local_ip4, r4 = msg->remote_ip4;
	__u32 l6[4], r6[4];

	l6[0] = msg->local_ip6[0];
	l6[1] = msg->local_ip6[1];
	l6[2] = msg->local_ip6[2];
	l6[3] = msg->local_ip6[3];
	r6[0] = msg->remote_ip6[0];
	r6[1] = msg->remote_ip6[1];
	r6[2] = msg->remote_ip6[2];
	r6[3] = msg->remote_ip6[3];
	barrier_var(family);
	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	t->sport = lport;
	/* Network order; some kernels hand it in the upper half. */
	if (rport > 0xffff)
		rport >>= 16;
	t->dport = bpf_ntohs((__u16)rport);
	if (family == AF_INET) {
		__builtin_memcpy(t->saddr, &l4, 4);
		__builtin_memcpy(t->daddr, &r4, 4);
	} else {
		__builtin_memcpy(t->saddr, l6, 16);
		__builtin_memcpy(t->daddr, r6, 16);
	}
}

SEC("sk_msg")
int sonde_inject_msg(struct sk_msg_md *msg)
{
	struct sonde_inject_event *ev;
	__u32 size = msg->size, window, at = 0;
	char header[SONDE_TRACEPARENT_LEN];
	char *data, *end;
	int line_end, verdict;

	/* Traced, not merely pending judgment: a process that may turn out
	 * not to be selected must not have its requests changed. */
	if (proc_verdict_of(bpf_get_current_pid_tgid() >> 32) != SONDE_VERDICT_TRACE)
		return SK_PASS;
	/* The smallest head: "GET / HTTP/1.1\r\n\r\n". */
	if (size < 18) {
		count(SONDE_CNT_INJECT_SKIPPED, 1);
		return SK_PASS;
	}
	window = size < LINE_MAX + INJECT_SCAN ? size : LINE_MAX + INJECT_SCAN;
	if (bpf_msg_pull_data(msg, 0, window, 0)) {
		count(SONDE_CNT_INJECT_SKIPPED, 1);
		return SK_PASS;
	}
	line_end = request_line_end(msg);
	if (line_end < 16 || line_end > LINE_MAX) {
		count(SONDE_CNT_INJECT_SKIPPED, 1);
		return SK_PASS;
	}
	at = line_end;
	verdict = sonde_inject_headers(msg, at);
	if (verdict != SCAN_INJECT) {
		count(verdict == SCAN_PRESENT ? SONDE_CNT_INJECT_PRESENT : SONDE_CNT_INJECT_SKIPPED, 1);
		return SK_PASS;
	}

	/* The record first: an injection userspace would not hear of would
	 * shift the stream it follows. */
	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return SK_PASS;
	}
	fill_header(&ev->hdr, SONDE_EV_INJECT, bpf_ktime_get_ns());
	msg_tuple(msg, &ev->tuple);
	new_ids(ev->trace_id, ev->span_id);
	ev->at = at;
	ev->len = SONDE_TRACEPARENT_LEN;
	ev->msg_size = size;
	ev->pad = 0;

	__builtin_memcpy(header, "traceparent: 00-", 16);
	put_hex(header + 16, ev->trace_id, 16);
	header[48] = '-';
	put_hex(header + 49, ev->span_id, 8);
	__builtin_memcpy(header + 65, "-01\r\n", 5);

	if (bpf_msg_push_data(msg, at, SONDE_TRACEPARENT_LEN, 0))
		goto failed;
	if (bpf_msg_pull_data(msg, at, at + SONDE_TRACEPARENT_LEN, 0))
		goto undo;
	data = (char *)(long)msg->data;
	end = (char *)(long)msg->data_end;
	if (data + SONDE_TRACEPARENT_LEN > end)
		goto undo;
	__builtin_memcpy(data, header, SONDE_TRACEPARENT_LEN);
	bpf_ringbuf_submit(ev, rb_flags());
	count(SONDE_CNT_INJECTED, 1);
	return SK_PASS;

undo:
	/* The pushed bytes are not written: take them out again. */
	bpf_msg_pop_data(msg, at, SONDE_TRACEPARENT_LEN, 0);
failed:
	bpf_ringbuf_discard(ev, 0);
	count(SONDE_CNT_INJECT_FAILED, 1);
	return SK_PASS;
}
