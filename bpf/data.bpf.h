/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Data records: payload bytes copied straight into the ring, in size classes. */
#ifndef __SONDE_DATA_BPF_H
#define __SONDE_DATA_BPF_H

#include "emit.bpf.h"

#define DATA_HDR_SIZE (__builtin_offsetof(struct sonde_data_event, data))

/* What every chunk of one call shares. Lives on the caller's stack. */
struct data_meta {
	__u64 sk;
	__u64 ts;
	__u64 ts_end;
	__u64 tls;      /* TLS records: the session */
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
	ev->tls = m->tls;
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

#endif /* __SONDE_DATA_BPF_H */
