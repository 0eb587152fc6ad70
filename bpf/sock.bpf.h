/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Finding and describing TCP sockets, with CO-RE reads only. */
#ifndef __SONDE_SOCK_BPF_H
#define __SONDE_SOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "sonde.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define SOCK_STREAM 1
#define S_IFMT 00170000
#define S_IFSOCK 0140000

/* sk_protocol was a bitfield before 5.6; the probed read copes with both. */
static __always_inline bool sk_is_tcp(struct sock *sk)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 protocol;

	if (family != AF_INET && family != AF_INET6)
		return false;
	protocol = BPF_CORE_READ_BITFIELD_PROBED(sk, sk_protocol);
	return protocol == IPPROTO_TCP;
}

/*
 * Past TCP_CLOSE, a socket's entry in conns is gone for good (conn.bpf.c)
 * and no state change will come to remove a new one: a last read or
 * write there (a read of 0, a TLS close_notify) must not make one, or the
 * struct sock's next life would inherit it, unannounced.
 */
static __always_inline bool sk_is_closed(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_CLOSE;
}

/*
 * fd -> struct sock through the current task's file table:
 * task->files->fdt->fd[fd]->private_data (a struct socket) ->sk.
 * Works on every kernel with BTF; used where the sock_*_length
 * tracepoints are missing, and for connect/accept/sendfile.
 */
static __always_inline struct sock *sock_from_fd(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file = NULL;
	struct socket *sock;
	struct sock *sk;
	umode_t mode;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	mode = BPF_CORE_READ(file, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = (struct socket *)BPF_CORE_READ(file, private_data);
	if (!sock || BPF_CORE_READ(sock, type) != SOCK_STREAM)
		return NULL;
	sk = BPF_CORE_READ(sock, sk);
	if (!sk || !sk_is_tcp(sk))
		return NULL;
	return sk;
}

/* Local and remote endpoint of a socket. IPv4 addresses fill the first 4 bytes. */
static __always_inline void read_tuple(struct sock *sk, struct sonde_tuple *t)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	t->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		BPF_CORE_READ_INTO((__u32 *)t->saddr, sk, __sk_common.skc_rcv_saddr);
		BPF_CORE_READ_INTO((__u32 *)t->daddr, sk, __sk_common.skc_daddr);
	} else {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	}
}

#endif /* __SONDE_SOCK_BPF_H */
