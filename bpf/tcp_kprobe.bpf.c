// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kprobe capture mode: see tcp.bpf.h. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tcp.bpf.h"

SEC("kprobe/tcp_sendmsg")
int BPF_KPROBE(sonde_kp_tcp_sendmsg, struct sock *sk, struct msghdr *msg)
{
	return tcp_enter(SONDE_OP_SEND, sk, msg);
}

SEC("kretprobe/tcp_sendmsg")
int BPF_KRETPROBE(sonde_krp_tcp_sendmsg, int ret)
{
	return tcp_exit(ret);
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(sonde_kp_tcp_recvmsg, struct sock *sk, struct msghdr *msg)
{
	return tcp_enter(SONDE_OP_RECV, sk, msg);
}

SEC("kretprobe/tcp_recvmsg")
int BPF_KRETPROBE(sonde_krp_tcp_recvmsg, int ret)
{
	return tcp_exit(ret);
}

/* sendfile before 6.5 (from 6.5 it arrives in tcp_sendmsg as ITER_BVEC).
 * Loaded only where the kernel has the function: length only, no bytes. */
SEC("kprobe/tcp_sendpage")
int BPF_KPROBE(sonde_kp_tcp_sendpage, struct sock *sk)
{
	return tcp_enter(SONDE_OP_SENDFILE, sk, NULL);
}

SEC("kretprobe/tcp_sendpage")
int BPF_KRETPROBE(sonde_krp_tcp_sendpage, int ret)
{
	return tcp_exit(ret);
}
