/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process filter, counters, and writing records to the ring buffer. */
#ifndef __SONDE_EMIT_BPF_H
#define __SONDE_EMIT_BPF_H

#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "sock.bpf.h"

#define DATA_HDR_SIZE (__builtin_offsetof(struct sonde_data_event, data))

static __always_inline void count(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += n; /* per-CPU slot: no other writer */
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

/* A process record about the current task. Control records that userspace
 * should act on at once (a new process to judge) force a wake-up. */
static __always_inline void emit_proc(__u8 type, __u8 verdict, __u16 port, bool wake)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sonde_proc_event *ev;

	ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_header(&ev->hdr, type, bpf_ktime_get_ns());
	ev->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ev->verdict = verdict;
	ev->port = port;
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	bpf_ringbuf_submit(ev, wake ? BPF_RB_FORCE_WAKEUP : rb_flags());
}

/* The kernel's record of a socket, created on first sight (role unknown
 * when the connection predates Sonde). NULL means: map full, carry on. */
static __always_inline struct sonde_conn_info *conn_get(__u64 sk)
{
	struct sonde_conn_info *ci = bpf_map_lookup_elem(&conns, &sk);
	struct sonde_conn_info fresh = {};

	if (ci)
		return ci;
	/* A recycled struct sock must not inherit the last one's skip hint. */
	bpf_map_delete_elem(&capture_from, &sk);
	bpf_map_update_elem(&conns, &sk, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&conns, &sk);
}

/* What every chunk of one call shares. Lives on the caller's stack. */
struct data_meta {
	__u64 sk;
	__u64 ts;
	__u64 ts_end;
	__u64 skip_to; /* stream position before which bytes are not copied */
	struct sonde_tuple tuple;
	__u8 direction;
	__u8 role;
	__u8 source;
	__u8 flags;
};

/*
 * Reserve a record big enough for `cap` payload bytes. Sizes come in a few
 * classes so small chunks use little ring space, and the verifier sees a
 * constant size for each reservation. The payload is copied straight into
 * the ring: no per-CPU scratch, which a preemptible tracepoint could clobber.
 */
#define EMIT_IN_CLASS(N)                                                           \
	if (cap <= (N)) {                                                          \
		ev = bpf_ringbuf_reserve(&events, DATA_HDR_SIZE + (N), 0);         \
		if (!ev)                                                           \
			goto lost;                                                 \
		barrier_var(cap); /* keep the bound check for the verifier */      \
		if (cap > (N))                                                     \
			cap = (N);                                                 \
		if (cap && bpf_probe_read_user(ev->data, cap, buf + skip)) {      \
			cap = 0;                                                   \
			flags |= SONDE_DATA_READ_FAILED;                           \
		}                                                                  \
		goto fill;                                                         \
	}

/* A chunk of `len` bytes at stream position `pos`, its bytes at `buf`. */
static __noinline int emit_data(const struct data_meta *m, const void *buf, __u32 len, __u64 pos)
{
	struct sonde_data_event *ev;
	/* Body bytes userspace will skip are not copied: start at the next message. */
	__u32 skip = m->skip_to > pos ? (m->skip_to - pos < len ? m->skip_to - pos : len) : 0;
	/* 64-bit on purpose: a 32-bit copy lets clang check one register and
	 * pass another to the helper, and the verifier loses the bound. */
	__u64 cap = len - skip < sonde_cfg.capture_size ? len - skip : sonde_cfg.capture_size;
	__u8 flags = m->flags;

	if (!buf)
		cap = 0;
	EMIT_IN_CLASS(128)
	EMIT_IN_CLASS(512)
	EMIT_IN_CLASS(2048)
	EMIT_IN_CLASS(8192)
	EMIT_IN_CLASS(SONDE_MAX_CAPTURE)
	return 0;

fill:
	fill_header(&ev->hdr, SONDE_EV_DATA, m->ts);
	ev->sock = m->sk;
	ev->ts_end = m->ts_end;
	ev->pos = pos;
	__builtin_memcpy(&ev->tuple, &m->tuple, sizeof(ev->tuple));
	ev->len = len;
	ev->captured = cap;
	ev->offset = skip;
	ev->direction = m->direction;
	ev->role = m->role;
	ev->source = m->source;
	ev->flags = flags;
	/* A long read may hold a message head announcing a long body: wake
	 * userspace now, so its hint (capture_from) lands before the read that
	 * ends the body. Reads wholly inside a skipped body wake nobody. */
	bpf_ringbuf_submit(ev, len > sonde_cfg.capture_size && skip < len ? BPF_RB_FORCE_WAKEUP : rb_flags());
	count(SONDE_CNT_DATA_RECORDS, 1);
	count(SONDE_CNT_DATA_BYTES, len);
	count(SONDE_CNT_CAPTURED_BYTES, cap);
	return 0;

lost:
	count(SONDE_CNT_DROP_DATA, 1);
	return 0;
}

/* One record per iovec, so each keeps its own true length; what lies beyond
 * SONDE_MAX_IOV iovecs goes out as one length-only record. */
static __always_inline void emit_iov(const struct data_meta *m, const struct iovec *iov,
				     __u32 iovcnt, __u32 total, __u64 pos)
{
	__u32 remaining = total;
	struct iovec v;
	__u32 n;

	for (int i = 0; i < SONDE_MAX_IOV; i++) {
		if (i >= iovcnt || remaining == 0)
			break;
		if (bpf_probe_read_user(&v, sizeof(v), &iov[i]))
			break;
		n = v.iov_len < remaining ? v.iov_len : remaining;
		if (n == 0)
			continue;
		emit_data(m, v.iov_base, n, pos + (total - remaining));
		remaining -= n;
	}
	if (remaining)
		emit_data(m, NULL, remaining, pos + (total - remaining));
}

/*
 * A completed send or receive of `ret` bytes on sk: the shared tail of the
 * syscall and the kprobe data paths. buf is a user buffer, or a user iovec
 * array when iovcnt > 0, or NULL when the bytes are not in user memory.
 */
static __always_inline void emit_io(struct sock *sk, __u8 source, bool is_send, __u64 ts_enter,
				    const void *buf, __u32 iovcnt, long ret)
{
	__u64 skp = (__u64)sk;
	struct sonde_conn_info *ci = conn_get(skp);
	struct sonde_capture_from *from;
	struct data_meta m = {};
	__u64 now = bpf_ktime_get_ns();
	__u8 dir = is_send ? SONDE_DIR_EGRESS : SONDE_DIR_INGRESS;
	__u64 pos = 0;

	if (ci && ci->ignored) {
		count(SONDE_CNT_IGNORED_CONN, 1);
		return;
	}
	if (ci) {
		/* Not atomic: one direction of a TCP stream has one writer at a time. */
		pos = ci->pos[dir & 1];
		ci->pos[dir & 1] = pos + ret;
	}
	from = bpf_map_lookup_elem(&capture_from, &skp);
	if (from)
		m.skip_to = from->pos[dir & 1];
	m.sk = skp;
	m.ts = is_send ? ts_enter : now;
	m.ts_end = now;
	m.direction = dir;
	m.role = ci ? ci->role : SONDE_ROLE_UNKNOWN;
	m.source = source;
	read_tuple(sk, &m.tuple);
	if (ret == 0) {
		m.flags = SONDE_DATA_EOF;
		emit_data(&m, NULL, 0, pos);
	} else if (iovcnt) {
		emit_iov(&m, buf, iovcnt, ret, pos);
	} else {
		emit_data(&m, buf, ret, pos);
	}
}

#endif /* __SONDE_EMIT_BPF_H */
