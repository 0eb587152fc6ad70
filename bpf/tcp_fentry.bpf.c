// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Fentry flavour of the kprobe capture mode (see tcp.bpf.h): cheaper
 * trampolines instead of int3. The return value comes from
 * bpf_get_func_ret() because tcp_recvmsg lost an argument in 5.19, which
 * moves the return slot.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tcp.bpf.h"

static __always_inline int fexit_ret(void *ctx)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	return tcp_exit((int)ret);
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG(sonde_fe_tcp_sendmsg, struct sock *sk, struct msghdr *msg)
{
	return tcp_enter(SONDE_OP_SEND, sk, msg);
}

SEC("fexit/tcp_sendmsg")
int sonde_fx_tcp_sendmsg(void *ctx)
{
	return fexit_ret(ctx);
}

SEC("fentry/tcp_recvmsg")
int BPF_PROG(sonde_fe_tcp_recvmsg, struct sock *sk, struct msghdr *msg)
{
	return tcp_enter(SONDE_OP_RECV, sk, msg);
}

SEC("fexit/tcp_recvmsg")
int sonde_fx_tcp_recvmsg(void *ctx)
{
	return fexit_ret(ctx);
}

SEC("fentry/tcp_sendpage")
int BPF_PROG(sonde_fe_tcp_sendpage, struct sock *sk)
{
	return tcp_enter(SONDE_OP_SENDFILE, sk, NULL);
}

SEC("fexit/tcp_sendpage")
int sonde_fx_tcp_sendpage(void *ctx)
{
	return fexit_ret(ctx);
}
