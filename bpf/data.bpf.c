// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Data records: payload bytes copied straight into the ring, in size classes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "data.bpf.h"

#define DATA_HDR_SIZE (__builtin_offsetof(struct sonde_data_event, data))

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

/* A data record went out: `len` bytes moved, `cap` of them copied. */
static __always_inline void count_data(__u32 len, __u32 cap)
{
	struct sonde_counters *c = counters_here();

	if (c) {
		c->n[SONDE_CNT_DATA_RECORDS]++;
		c->n[SONDE_CNT_DATA_BYTES] += len;
		c->n[SONDE_CNT_CAPTURED_BYTES] += cap;
	}
}

/* The header of a data record: `len` bytes at `seq`, the first `offset`
 * skipped, then `captured` copied. */
static __always_inline void fill_data(struct sonde_data_event *ev, const struct data_meta *m, __u32 seq,
				      __u32 len, __u32 captured, __u32 offset, __u8 flags)
{
	fill_header(&ev->hdr, SONDE_EV_DATA, m->ts);
	ev->sock = m->sk;
	ev->tls = m->tls;
	ev->ts_end = m->ts_end;
	ev->seq = seq;
	ev->len = len;
	ev->captured = captured;
	ev->offset = offset;
	ev->direction = m->direction;
	ev->role = m->role;
	ev->source = m->source;
	ev->flags = flags;
	ev->user_sp = user_sp_lo();
}

__noinline int emit_data(const struct data_meta *m, const struct chunk *k)
{
	const void *buf, *tail;
	__u32 len, tail_len, seq, total, skip;
	__s32 ahead;
	__u64 cap, tail_cap;
	struct sonde_data_event *ev;
	__u8 flags;

	if (!m || !k)
		return 0;
	buf = k->buf;
	tail = k->tail;
	len = k->len;
	tail_len = k->tail_len;
	seq = k->seq;
	total = len + tail_len;
	flags = m->flags;
	/* Body bytes userspace will skip are not copied: start at the next message. */
	ahead = (__s32)(m->skip_to - seq);
	skip = m->skipping && ahead > 0 ? ((__u32)ahead < len ? (__u32)ahead : len) : 0;
	/* 64-bit on purpose: a 32-bit copy lets clang check one register and
	 * pass another to the helper, and the verifier loses the bound. */
	cap = len - skip < sonde_cfg.capture_size ? len - skip : sonde_cfg.capture_size;
	tail_cap = tail && len + tail_len <= sonde_cfg.capture_size ? tail_len : 0;
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
	EMIT_IN_CLASS(4096, 0)
	EMIT_IN_CLASS(8192, 0)
	EMIT_IN_CLASS(SONDE_MAX_CAPTURE, 0)
	return 0;

fill:
	fill_data(ev, m, seq, total, cap, skip, flags);
	/* A long read may hold a message head announcing a long body: wake
	 * userspace now, so its hint lands before the read that ends the body.
	 * Reads wholly inside a skipped body wake nobody. */
	bpf_ringbuf_submit(ev, total > sonde_cfg.capture_size && skip < len ? BPF_RB_FORCE_WAKEUP : rb_flags());
	count_data(total, cap);
	return 0;

lost:
	count(SONDE_CNT_DROP_DATA, 1);
	return -1;
}

/* Pieces (iovecs, or skipped spans) one gathered record takes at most. */
#define GATHER_PIECES 64

/* Move the walk on by n bytes of its current piece. */
static __always_inline void gather_advance(struct gather *g, __u32 n)
{
	g->at += n;
	g->left -= n;
	g->done += n;
}

/*
 * Copy pieces into `data` (a record of 2 * half bytes) while fewer than
 * `half` bytes are in: each copy adds at most `half`, so every copy stays
 * inside the record without the verifier having to relate two lengths.
 * Body userspace will skip, at the record's start, is passed over
 * (*skipped). Returns the bytes copied.
 */
static __always_inline __u32 gather_into(__u8 *data, __u32 half, const struct data_meta *m, struct gather *g,
					 __u32 *skipped, __u8 *flags)
{
	__u64 used = 0, n;
	struct iovec v;
	__s32 ahead;

	for (int i = 0; i < GATHER_PIECES; i++) {
		if (used >= half || g->done >= g->total)
			break;
		if (g->left == 0) {
			if (g->next >= g->iovcnt ||
			    read_iovec(&v, (const struct iovec *)g->iov + g->next, g->kernel_iov))
				break;
			g->next++;
			g->at = v.iov_base;
			g->left = v.iov_len < g->total - g->done ? v.iov_len : g->total - g->done;
			if (g->left == 0)
				continue;
		}
		ahead = m->skipping ? (__s32)(m->skip_to - (g->seq + g->done)) : 0;
		if (ahead > 0) {
			if (used)
				break; /* a record skips only at its start */
			n = (__u32)ahead < g->left ? (__u32)ahead : g->left;
			*skipped += n;
			gather_advance(g, n);
			continue;
		}
		/* Bounds checked on the very registers the helper gets. */
		n = g->left;
		barrier_var(n);
		if (n > half)
			n = half;
		barrier_var(used);
		if (used >= half)
			break;
		if (bpf_probe_read_user(data + used, n, g->at)) {
			*flags |= SONDE_DATA_READ_FAILED;
			break;
		}
		used += n;
		gather_advance(g, n);
	}
	return used;
}

#define GATHER_IN_CLASS(HALF)                                                              \
	if (want <= 2 * (HALF) || (HALF) * 2 == SONDE_MAX_CAPTURE) {                       \
		ev = bpf_ringbuf_reserve(&events, DATA_HDR_SIZE + 2 * (HALF), 0);          \
		if (!ev)                                                                   \
			goto lost;                                                         \
		used = gather_into(ev->data, (HALF), m, g, &skipped, &flags);              \
		goto fill;                                                                 \
	}

__noinline int emit_gathered(const struct data_meta *m, struct gather *g)
{
	struct sonde_data_event *ev;
	__u32 seq, want, used, skipped = 0;
	__u8 flags;

	if (!m || !g)
		return -1;
	seq = g->seq + g->done;
	want = g->total - g->done;
	flags = m->flags;
	GATHER_IN_CLASS(256)
	GATHER_IN_CLASS(1024)
	GATHER_IN_CLASS(4096)
	GATHER_IN_CLASS(SONDE_MAX_CAPTURE / 2)
	return -1;

fill:
	if (used + skipped == 0) {
		/* Nothing could be read where the walk stands: the rest of the call is length-only. */
		bpf_ringbuf_discard(ev, 0);
		return 1;
	}
	fill_data(ev, m, seq, skipped + used, used, skipped, flags);
	bpf_ringbuf_submit(ev, rb_flags());
	count_data(used + skipped, used);
	return 0;

lost:
	count(SONDE_CNT_DROP_DATA, 1);
	return -1;
}
