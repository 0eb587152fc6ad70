/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kprobe (and fentry) capture mode: tcp_sendmsg / tcp_recvmsg see every
 * TCP payload whatever the syscall (sendfile, io_uring, splice included).
 * At entry the msghdr's iov_iter still points at the start of the user
 * data; it is saved, and copied out at return once the length is known.
 */
#ifndef __SONDE_TCP_BPF_H
#define __SONDE_TCP_BPF_H

#include "io.bpf.h"

/* Field names of struct iov_iter in older kernels, for CO-RE. */
struct iov_iter___pre514 {
	unsigned int type; /* before 5.14: ITER_* flags ORed with the direction */
} __attribute__((preserve_access_index));

struct iov_iter___pre64 {
	const struct iovec *iov; /* renamed __iov in 6.4 */
} __attribute__((preserve_access_index));

#define ITER_IOVEC_PRE514 4

/* Where the user bytes of an iterator start: a single user buffer
 * (ITER_UBUF), the kernel's copy of the user's iovec array (ITER_IOVEC,
 * *iovcnt > 0), or nothing for kernel memory. */
static __always_inline __u64 iter_user_data(struct iov_iter *it, __u32 *iovcnt)
{
	bool is_iovec, is_ubuf = false;

	*iovcnt = 0;
	if (BPF_CORE_READ(it, iov_offset))
		return 0; /* mid-iovec start: rare, and not worth the bytes */
	if (bpf_core_field_exists(it->iter_type)) {
		__u8 type = BPF_CORE_READ(it, iter_type);

		is_iovec = type == bpf_core_enum_value(enum iter_type, ITER_IOVEC);
		if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF))
			is_ubuf = type == bpf_core_enum_value(enum iter_type, ITER_UBUF);
	} else {
		struct iov_iter___pre514 *old = (void *)it;

		is_iovec = BPF_CORE_READ(old, type) & ITER_IOVEC_PRE514;
	}
	if (is_ubuf && bpf_core_field_exists(it->ubuf))
		return (__u64)BPF_CORE_READ(it, ubuf);
	if (!is_iovec)
		return 0;
	*iovcnt = BPF_CORE_READ(it, nr_segs);
	if (bpf_core_field_exists(it->__iov))
		return (__u64)BPF_CORE_READ(it, __iov);
	return (__u64)BPF_CORE_READ((struct iov_iter___pre64 *)it, iov);
}

static __always_inline int tcp_enter(__u8 op, struct sock *sk, struct msghdr *msg)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_inflight in = {};

	if (!pid_traced(id >> 32))
		return 0;
	in.ts = bpf_ktime_get_ns();
	in.sk = (__u64)sk;
	in.op = op;
	if (msg)
		in.buf = iter_user_data(&msg->msg_iter, &in.iovcnt);
	if (bpf_map_update_elem(&inflight, &id, &in, BPF_ANY))
		count(SONDE_CNT_DROP_INFLIGHT, 1);
	return 0;
}

static __always_inline int tcp_exit(long ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_inflight *in = bpf_map_lookup_elem(&inflight, &id);
	struct sonde_inflight call;
	struct io_call io = {};

	if (!in)
		return 0;
	call = *in;
	bpf_map_delete_elem(&inflight, &id);
	if (!call.sk || ret < 0 || (ret == 0 && call.op != SONDE_OP_RECV))
		return 0;
	io.sk = (struct sock *)call.sk;
	io.is_send = call.op != SONDE_OP_RECV;
	io.ts_enter = call.ts;
	io.ret = ret;
	io.seq_end = stream_end(io.sk, io.is_send);
	io.buf = (const void *)call.buf;
	io.iovcnt = call.iovcnt;
	io.source = SONDE_SRC_KPROBE;
	/* An ITER_IOVEC iterator's array is the kernel's copy of the user's
	 * (import_iovec): read it as kernel memory, each segment as user memory. */
	io.kernel_iov = true;
	emit_io(&io);
	return 0;
}

#endif /* __SONDE_TCP_BPF_H */
