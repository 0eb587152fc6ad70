/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Data records: payload bytes copied straight into the ring, in size classes. */
#ifndef __SONDE_DATA_BPF_H
#define __SONDE_DATA_BPF_H

#include "emit.bpf.h"

/* What every chunk of one call shares. Lives on the caller's stack. */
struct data_meta {
	__u64 sk;
	__u64 ts;
	__u64 ts_end;
	__u64 tls;      /* TLS records: the session */
	__u32 skip_to;  /* sequence number before which bytes are not copied... */
	bool skipping;  /* ...when set */
	bool whole;     /* every byte is copied, gathered (conn_info.whole) */
	__u8 direction;
	__u8 role;
	__u8 source;
	__u8 flags;
};

/* Room kept after the head for a short second iovec (headers, then a small
 * body: one record instead of two). */
#define SONDE_TAIL 128

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

/*
 * Write one data record (data.bpf.c); -1 when the ring buffer is full
 * (counted). A global function: the verifier checks it once, not once per
 * call site, so a call may become many records (one per iovec, or
 * gathered) within the instruction budget.
 */
int emit_data(const struct data_meta *m, const struct chunk *k);

/*
 * Where a walk over one call's bytes stands, for a connection copied whole:
 * its pieces (iovecs, or the one buffer) are gathered into as few records
 * as they fit, so a write of hundreds of small frames is a few records.
 */
struct gather {
	const void *iov;  /* iovec array; unused when iovcnt is 0 */
	const void *at;   /* next byte of the current piece */
	__u32 iovcnt;     /* 0: the call had one buffer, already the current piece */
	__u32 next;       /* next iovec to read */
	__u32 left;       /* bytes of the current piece not yet in a record */
	__u32 done;       /* bytes of the call already in records */
	__u32 total;
	__u32 seq;        /* of the call's first byte */
	bool kernel_iov;  /* the iovec array is the kernel's copy */
};

/* One record gathered from where `g` stands, which it moves on (data.bpf.c):
 * 0; 1 when nothing more can be read; -1 when the ring buffer is full (counted). */
int emit_gathered(const struct data_meta *m, struct gather *g);

static __always_inline long read_iovec(struct iovec *v, const struct iovec *iov, bool kernel_iov)
{
	return kernel_iov ? bpf_probe_read_kernel(v, sizeof(*v), iov) : bpf_probe_read_user(v, sizeof(*v), iov);
}

/* A connection copied whole: every byte of the call, gathered. */
static __always_inline void emit_whole(const struct data_meta *m, const void *iov, __u32 iovcnt,
				       __u32 total, __u32 seq, bool kernel_iov)
{
	struct gather g = {
		.iov = iov,
		.at = iovcnt ? NULL : iov,
		.iovcnt = iovcnt,
		.left = iovcnt ? 0 : total,
		.total = total,
		.seq = seq,
		.kernel_iov = kernel_iov,
	};
	struct chunk k = {};
	int r;

	for (int i = 0; i < SONDE_MAX_RECORDS && g.done < g.total; i++) {
		r = emit_gathered(m, &g);
		if (r < 0)
			return;
		if (r > 0)
			break;
	}
	if (g.done < g.total) {
		k.len = g.total - g.done;
		k.seq = g.seq + g.done;
		emit_data(m, &k);
	}
}

/*
 * The bytes of one call as data records. On a connection copied whole,
 * gathered (emit_whole). Otherwise two iovecs where the second is short
 * (headers, then a small body) make one record; else one record per
 * iovec, so each keeps its own true length and the start of each is
 * copied. Past SONDE_MAX_RECORDS records the rest goes out as one
 * length-only record. `iov`: an iovec array of `iovcnt` (the kernel's copy
 * when `kernel_iov`), or when iovcnt is 0 a single buffer.
 */
static __always_inline void emit_call(const struct data_meta *m, const void *iov, __u32 iovcnt,
				      __u32 total, __u32 seq, bool kernel_iov)
{
	const struct iovec *vec = iov;
	__u32 done = 0, left = total, next = 0;
	const void *at = iov;
	struct chunk k = {};
	struct iovec v, w;

	if (m->whole) {
		emit_whole(m, iov, iovcnt, total, seq, kernel_iov);
		return;
	}
	if (iovcnt == 2 && !m->skipping && !read_iovec(&v, &vec[0], kernel_iov) &&
	    !read_iovec(&w, &vec[1], kernel_iov) && v.iov_len < total && total - v.iov_len <= SONDE_TAIL) {
		k.buf = v.iov_base;
		k.len = v.iov_len;
		k.tail = w.iov_base;
		k.tail_len = total - v.iov_len;
		k.seq = seq;
		emit_data(m, &k);
		return;
	}
	if (iovcnt)
		left = 0;
	for (int i = 0; i < SONDE_MAX_RECORDS && done < total; i++) {
		if (left == 0) {
			/* The next iovec; a short call may stop inside any of them.
			 * `next` is only ever compared with iovcnt, never with a
			 * constant, so the verifier need not track its value:
			 * paths that differ only in it are checked once. */
			if (next >= iovcnt || read_iovec(&v, &vec[next], kernel_iov))
				break;
			next++;
			at = v.iov_base;
			left = v.iov_len < total - done ? v.iov_len : total - done;
			if (left == 0)
				continue;
		}
		k.buf = at;
		k.len = left;
		k.seq = seq + done;
		/* Testing the result also keeps the call from falling straight
		 * through to the loop's head, which 6.1's verifier rejects. */
		if (emit_data(m, &k))
			return;
		done += left;
		left = 0;
	}
	if (done < total) {
		k.buf = NULL;
		k.len = total - done;
		k.seq = seq + done;
		emit_data(m, &k);
	}
}

#endif /* __SONDE_DATA_BPF_H */
