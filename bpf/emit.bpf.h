/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The process filter, counters, and writing records to the ring buffer. */
#ifndef __SONDE_EMIT_BPF_H
#define __SONDE_EMIT_BPF_H

#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "sock.bpf.h"

#define DATA_HDR_SIZE (__builtin_offsetof(struct sonde_data_event, data))

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

/* The addresses and role of a socket, sent once: data records do not repeat them. */
static __always_inline void emit_conn_open(struct sock *sk, __u8 role)
{
	struct sonde_conn_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_header(&ev->hdr, SONDE_EV_CONN_OPEN, bpf_ktime_get_ns());
	ev->sock = (__u64)sk;
	read_tuple(sk, &ev->tuple);
	ev->role = role;
	bpf_ringbuf_submit(ev, rb_flags());
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
 * TCP by construction; others are checked first. NULL: not TCP, or the
 * map is full.
 */
static __always_inline struct sonde_conn_info *conn_get(struct sock *sk)
{
	__u64 skp = (__u64)sk;
	struct sonde_conn_info *ci = bpf_map_lookup_elem(&conns, &skp);

	if (!ci) {
		if (!sk_is_tcp(sk))
			return NULL;
		conn_new(skp, SONDE_ROLE_UNKNOWN, true);
		emit_conn_open(sk, SONDE_ROLE_UNKNOWN);
		return bpf_map_lookup_elem(&conns, &skp);
	}
	if (!ci->announced) {
		ci->announced = 1;
		emit_conn_open(sk, ci->role);
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

/* What a data path knows of one completed send or receive. */
struct io_call {
	struct sock *sk;
	const void *buf;   /* user buffer, or iovec array when iovcnt > 0, or NULL */
	__u64 ts_enter;    /* when a send began, 0 where unknown */
	long ret;          /* bytes moved */
	__u32 seq_end;     /* stream_end() after the call */
	__u32 iovcnt;
	__u8 source;
	bool is_send;
	bool kernel_iov;   /* the iovec array is the kernel's copy (an iov_iter's) */
};

/* What every chunk of one call shares. Lives on the caller's stack. */
struct data_meta {
	__u64 sk;
	__u64 ts;
	__u64 ts_end;
	__u32 skip_to;  /* sequence number before which bytes are not copied... */
	bool skipping;  /* ...when set */
	__u8 direction;
	__u8 role;
	__u8 source;
	__u8 flags;
};

/* Room kept after the head for a short second iovec (headers, then a small
 * body: one record instead of two). */
#define SONDE_TAIL 128

/*
 * Reserve a record big enough for `cap` payload bytes (plus T of room for
 * a tail). Sizes come in a few classes so small chunks use little ring
 * space, and the verifier sees a constant size for each reservation. The
 * payload is copied straight into the ring: no per-CPU scratch, which a
 * preemptible program could clobber.
 */
#define EMIT_IN_CLASS(N, T)                                                        \
	if (cap <= (N)) {                                                          \
		ev = bpf_ringbuf_reserve(&events, DATA_HDR_SIZE + (N) + (T), 0);   \
		if (!ev)                                                           \
			goto lost;                                                 \
		barrier_var(cap); /* keep the bound check for the verifier */      \
		if (cap > (N))                                                     \
			cap = (N);                                                 \
		if (cap && bpf_probe_read_user(ev->data, cap, buf + skip)) {      \
			cap = 0;                                                   \
			flags |= SONDE_DATA_READ_FAILED;                           \
		}                                                                  \
		if ((T) && tail_cap && cap == len) {                               \
			barrier_var(tail_cap);                                     \
			if (tail_cap > (T))                                        \
				tail_cap = (T);                                    \
			if (bpf_probe_read_user(ev->data + cap, tail_cap, tail))   \
				tail_cap = 0;                                      \
			cap += tail_cap;                                           \
		}                                                                  \
		goto fill;                                                         \
	}

/* One record's worth of bytes: `len` at `buf` (NULL: not in user memory),
 * starting at sequence number `seq`, then `tail_len` more at `tail` (a
 * second iovec, at most SONDE_TAIL; 0 for none). */
struct chunk {
	const void *buf;
	const void *tail;
	__u32 len;
	__u32 tail_len;
	__u32 seq;
};

static __noinline int emit_data(const struct data_meta *m, const struct chunk *k)
{
	const void *buf = k->buf, *tail = k->tail;
	__u32 len = k->len, tail_len = k->tail_len, seq = k->seq;
	struct sonde_data_event *ev;
	/* Body bytes userspace will skip are not copied: start at the next message. */
	__s32 ahead = (__s32)(m->skip_to - seq);
	__u32 skip = m->skipping && ahead > 0 ? ((__u32)ahead < len ? (__u32)ahead : len) : 0;
	/* 64-bit on purpose: a 32-bit copy lets clang check one register and
	 * pass another to the helper, and the verifier loses the bound. */
	__u64 cap = len - skip < sonde_cfg.capture_size ? len - skip : sonde_cfg.capture_size;
	__u64 tail_cap = tail && len + tail_len <= sonde_cfg.capture_size ? tail_len : 0;
	__u8 flags = m->flags;
	struct sonde_counters *c;
	__u32 total = len + tail_len;

	if (!buf)
		cap = 0;
	if (tail_cap) {
		EMIT_IN_CLASS(128, SONDE_TAIL)
		EMIT_IN_CLASS(512, SONDE_TAIL)
	}
	tail_cap = 0;
	EMIT_IN_CLASS(128, 0)
	EMIT_IN_CLASS(512, 0)
	EMIT_IN_CLASS(2048, 0)
	EMIT_IN_CLASS(8192, 0)
	EMIT_IN_CLASS(SONDE_MAX_CAPTURE, 0)
	return 0;

fill:
	fill_header(&ev->hdr, SONDE_EV_DATA, m->ts);
	ev->sock = m->sk;
	ev->ts_end = m->ts_end;
	ev->seq = seq;
	ev->len = total;
	ev->captured = cap;
	ev->offset = skip;
	ev->direction = m->direction;
	ev->role = m->role;
	ev->source = m->source;
	ev->flags = flags;
	/* A long read may hold a message head announcing a long body: wake
	 * userspace now, so its hint lands before the read that ends the body.
	 * Reads wholly inside a skipped body wake nobody. */
	bpf_ringbuf_submit(ev, total > sonde_cfg.capture_size && skip < len ? BPF_RB_FORCE_WAKEUP : rb_flags());
	c = counters_here();
	if (c) {
		c->n[SONDE_CNT_DATA_RECORDS]++;
		c->n[SONDE_CNT_DATA_BYTES] += total;
		c->n[SONDE_CNT_CAPTURED_BYTES] += cap;
	}
	return 0;

lost:
	count(SONDE_CNT_DROP_DATA, 1);
	return 0;
}

static __always_inline long read_iovec(struct iovec *v, const struct iovec *iov, bool kernel_iov)
{
	return kernel_iov ? bpf_probe_read_kernel(v, sizeof(*v), iov) : bpf_probe_read_user(v, sizeof(*v), iov);
}

/*
 * The iovecs of one call. Two of them where the second is short (headers,
 * then a small body) make one record; otherwise one record per iovec, so
 * each keeps its own true length, and what lies beyond SONDE_MAX_IOV
 * iovecs goes out as one length-only record. `kernel_iov`: the array is
 * the kernel's copy (an iov_iter's), not the user's.
 */
static __always_inline void emit_iov(const struct data_meta *m, const struct iovec *iov,
				     __u32 iovcnt, __u32 total, __u32 seq, bool kernel_iov)
{
	__u32 remaining = total;
	struct chunk k = {};
	struct iovec v, w;
	__u32 n;

	if (iovcnt == 2 && !m->skipping && !read_iovec(&v, &iov[0], kernel_iov) &&
	    !read_iovec(&w, &iov[1], kernel_iov) && v.iov_len < total && total - v.iov_len <= SONDE_TAIL) {
		k.buf = v.iov_base;
		k.len = v.iov_len;
		k.tail = w.iov_base;
		k.tail_len = total - v.iov_len;
		k.seq = seq;
		emit_data(m, &k);
		return;
	}
	for (int i = 0; i < SONDE_MAX_IOV; i++) {
		if (i >= iovcnt || remaining == 0)
			break;
		if (read_iovec(&v, &iov[i], kernel_iov))
			break;
		n = v.iov_len < remaining ? v.iov_len : remaining;
		if (n == 0)
			continue;
		k.buf = v.iov_base;
		k.len = n;
		k.seq = seq + (total - remaining);
		emit_data(m, &k);
		remaining -= n;
	}
	if (remaining) {
		k.buf = NULL;
		k.len = remaining;
		k.seq = seq + (total - remaining);
		emit_data(m, &k);
	}
}

/* A completed send or receive: the shared tail of every data path. */
static __always_inline void emit_io(const struct io_call *c)
{
	struct sonde_conn_info *ci = conn_get(c->sk);
	struct data_meta m = {};
	struct chunk k = {};
	__u64 now = bpf_ktime_get_ns();
	__u8 dir = c->is_send ? SONDE_DIR_EGRESS : SONDE_DIR_INGRESS;
	__u32 seq = c->seq_end - (__u32)c->ret;

	if (!ci)
		return;
	if (ci->ignored) {
		count(SONDE_CNT_IGNORED_CONN, 1);
		return;
	}
	if (ci->skipping[dir & 1]) {
		m.skip_to = ci->skip_seq[dir & 1];
		m.skipping = true;
	}
	m.sk = (__u64)c->sk;
	m.ts = c->is_send && c->ts_enter ? c->ts_enter : now;
	m.ts_end = now;
	m.direction = dir;
	m.role = ci->role;
	m.source = c->source;
	if (c->ret == 0) {
		m.flags = SONDE_DATA_EOF;
		k.seq = seq;
		emit_data(&m, &k);
	} else if (c->iovcnt) {
		emit_iov(&m, c->buf, c->iovcnt, c->ret, seq, c->kernel_iov);
	} else {
		k.buf = c->buf;
		k.len = c->ret;
		k.seq = seq;
		emit_data(&m, &k);
	}
}

#endif /* __SONDE_EMIT_BPF_H */
