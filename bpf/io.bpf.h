/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The shared tail of every data path (socket tracepoints, syscall
 * tracepoints, kprobes, fentry): one completed send or receive on a TCP
 * socket becomes data records, unless the bytes are a TLS session's
 * ciphertext, whose plaintext tls.bpf.c reports instead.
 */
#ifndef __SONDE_IO_BPF_H
#define __SONDE_IO_BPF_H

#include "tls.bpf.h"

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

/* The first `n` bytes a call moved (through its first iovec if it has them). */
static __always_inline bool call_head(const struct io_call *c, __u8 *head, __u32 n)
{
	const void *buf = c->buf;
	struct iovec v;

	if (!buf || c->ret < n)
		return false;
	if (c->iovcnt) {
		if (read_iovec(&v, buf, c->kernel_iov) || v.iov_len < n)
			return false;
		buf = v.iov_base;
	}
	return bpf_probe_read_user(head, n, buf) == 0;
}

/* Does a send start with a TLS record header? Guards the memory-BIO tie,
 * so a plaintext send after SSL_write on the same thread is not taken for it. */
static __always_inline bool looks_like_tls(const struct io_call *c)
{
	__u8 h[3];

	return call_head(c, h, sizeof(h)) && h[0] >= TLS_CT_MIN && h[0] <= TLS_CT_MAX && h[1] == TLS_MAJOR && h[2] <= 4;
}

/*
 * Is this I/O a TLS session's ciphertext? Ties the session to the socket
 * when this is the first sign: I/O inside a TLS call belongs to that call's
 * session (OpenSSL and GnuTLS over a socket); the first TLS-looking send
 * after an SSL_write of a session not tied yet belongs to it (Node.js,
 * memory BIOs). Receives are remembered for SSL_read to find (tls.bpf.c).
 * Threads that never called a TLS library pay one lookup.
 */
static __always_inline bool tls_ciphertext(const struct io_call *c, struct sonde_conn_info *ci)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_tls_thread *t = tls_thread(id, false);
	struct sonde_tls_session *s;
	__u64 sk = (__u64)c->sk;

	if (!t)
		return ci->tls;
	if (!c->is_send) {
		t->last_recv = sk;
		t->recv_fresh = 1;
	}
	if (t->ssl) {
		s = tls_session(t->ssl, id >> 32, true);
		if (s)
			tls_tie(s, t->ssl, sk, ci);
		else
			ci->tls = 1;
	} else if (t->pending && c->is_send && looks_like_tls(c)) {
		s = tls_session(t->pending, id >> 32, false);
		if (s && !s->sk)
			tls_tie(s, t->pending, sk, ci);
		t->pending = 0;
	}
	return ci->tls;
}

/*
 * Does a connection's first call start HTTP/2: the client preface (a
 * client's first send, a server's first receive), or a SETTINGS frame on
 * stream 0 (a server that speaks first)? Then the connection is copied
 * whole from the start, before userspace could say so: the next call may
 * already carry many streams' frames.
 */
static __always_inline bool http2_start(const struct io_call *c)
{
	__u8 h[9];

	if (!call_head(c, h, sizeof(h)))
		return false;
	if (h[0] == 'P' && h[1] == 'R' && h[2] == 'I' && h[3] == ' ')
		return true;
	/* Length (24 bits, a multiple of 6), type 4, no flags, stream 0. */
	return c->is_send && h[3] == 0x04 && h[4] == 0 && !(h[5] | h[6] | h[7] | h[8]) &&
	       ((h[0] << 16) | (h[1] << 8) | h[2]) % 6 == 0;
}

/* A completed send or receive: the shared tail of every data path. */
static __always_inline void emit_io(const struct io_call *c)
{
	bool first;
	struct sonde_conn_info *ci = conn_get(c->sk, &first);
	struct data_meta m = {};
	struct chunk k = {};
	__u64 now = bpf_ktime_get_ns();
	__u8 dir = c->is_send ? SONDE_DIR_EGRESS : SONDE_DIR_INGRESS;
	__u32 seq = c->seq_end - (__u32)c->ret;

	if (!ci)
		return;
	/* A read of 0 still goes out: the end of the stream ends the plaintext too. */
	if (tls_ciphertext(c, ci) && c->ret != 0) {
		count(SONDE_CNT_TLS_CIPHERTEXT, 1);
		return;
	}
	/* On a TLS socket `ignored` is about its ciphertext: the end of the
	 * stream still ends the plaintext, even before userspace says so. */
	if (ci->ignored && !(ci->tls && c->ret == 0)) {
		count(SONDE_CNT_IGNORED_CONN, 1);
		return;
	}
	if (first && !ci->whole && http2_start(c))
		ci->whole = 1;
	if (ci->skipping[dir & 1] && !ci->tls) {
		m.skip_to = ci->skip_seq[dir & 1];
		m.skipping = true;
	}
	m.sk = (__u64)c->sk;
	m.ts = c->is_send && c->ts_enter ? c->ts_enter : now;
	m.ts_end = now;
	m.direction = dir;
	m.role = ci->role;
	m.source = c->source;
	m.whole = ci->whole;
	if (c->ret == 0) {
		m.flags = SONDE_DATA_EOF;
		k.seq = seq;
		emit_data(&m, &k);
	} else {
		emit_call(&m, c->buf, c->iovcnt, c->ret, seq, c->kernel_iov);
	}
}

#endif /* __SONDE_IO_BPF_H */
