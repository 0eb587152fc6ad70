// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tracepoint capture mode on kernels with sock:sock_{send,recv}_length
 * (5.19+): these fire inside sock_sendmsg()/sock_recvmsg(), after the
 * bytes moved, for socket calls only. The socket is their argument; the
 * user buffer is the syscall's, read from the task's saved registers
 * (bpf_task_pt_regs). No syscall tracepoint is attached at all, so
 * processes that are not traced, and calls that are not on sockets, pay
 * nothing; a traced send or receive costs one program run. tp_btf, so
 * the socket and the registers are read directly, not through helpers.
 *
 * The time a send began is not known here: sends are timed at their end,
 * which for a small write is within microseconds of its start.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "io.bpf.h"

#define MSG_PEEK 2

#if defined(__TARGET_ARCH_x86)
#define NR_READ 0
#define NR_WRITE 1
#define NR_READV 19
#define NR_WRITEV 20
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define NR_SENDMSG 46
#define NR_RECVMSG 47
#define SYSCALL_NR(regs) ((regs)->orig_ax)
#define SYSCALL_ARG2(regs) ((regs)->si)
#define SYSCALL_ARG3(regs) ((regs)->dx)
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ 63
#define NR_WRITE 64
#define NR_READV 65
#define NR_WRITEV 66
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define NR_SENDMSG 211
#define NR_RECVMSG 212
#define SYSCALL_NR(regs) ((regs)->syscallno)
#define SYSCALL_ARG2(regs) ((regs)->regs[1])
#define SYSCALL_ARG3(regs) ((regs)->regs[2])
#else
#error "socket.bpf.c knows the syscall numbers of x86 and arm64 only"
#endif

/*
 * The bytes of the syscall the current task is in, if it is one whose
 * buffer we know how to find: a single buffer, or an iovec array (*iovcnt).
 * sendfile, splice, io_uring and kernel users give NULL: length only.
 */
static __always_inline const void *syscall_buffer(__u32 *iovcnt)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	struct user_msghdr msg;

	*iovcnt = 0;
	switch (SYSCALL_NR(regs)) {
	case NR_READ:
	case NR_WRITE:
	case NR_SENDTO:
	case NR_RECVFROM:
		return (const void *)SYSCALL_ARG2(regs);
	case NR_READV:
	case NR_WRITEV:
		*iovcnt = SYSCALL_ARG3(regs);
		return (const void *)SYSCALL_ARG2(regs);
	case NR_SENDMSG:
	case NR_RECVMSG:
		if (bpf_probe_read_user(&msg, sizeof(msg), (void *)SYSCALL_ARG2(regs)))
			return NULL;
		*iovcnt = msg.msg_iovlen;
		return msg.msg_iov;
	default:
		return NULL;
	}
}

static __always_inline int on_socket_io(struct sock *sk, int ret, int flags, bool is_send)
{
	struct tcp_sock *tp;
	struct io_call io = {};

	if (!pid_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (ret < 0 || (ret == 0 && is_send) || (flags & MSG_PEEK))
		return 0;
	tp = bpf_skc_to_tcp_sock(sk); /* NULL unless TCP */
	if (!tp)
		return 0;
	io.sk = sk;
	io.is_send = is_send;
	io.ret = ret;
	io.seq_end = is_send ? tp->write_seq : tp->copied_seq;
	io.buf = syscall_buffer(&io.iovcnt);
	io.source = SONDE_SRC_SOCKET;
	emit_io(&io);
	return 0;
}

SEC("tp_btf/sock_send_length")
int BPF_PROG(sonde_sock_send, struct sock *sk, int ret, int flags)
{
	return on_socket_io(sk, ret, flags, true);
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(sonde_sock_recv, struct sock *sk, int ret, int flags)
{
	return on_socket_io(sk, ret, flags, false);
}
