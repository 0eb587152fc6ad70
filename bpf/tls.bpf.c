// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Plaintext of TLS sessions, from uprobes on the library's record calls:
 * OpenSSL (1.1 and 3, as libssl.so.* or inside an executable such as
 * node) and GnuTLS. Userspace attaches these once per library file
 * (collector/tls/TlsProbes.ts); they run for every process that maps it,
 * and stop at the process filter for those not traced.
 *
 *   SSL_write(ssl, buf, num)           -> int bytes         tls_write, tls_ret_int
 *   SSL_read(ssl, buf, num)            -> int bytes         tls_read,  tls_ret_int
 *   SSL_write_ex(ssl, buf, num, *n)    -> 1, *n bytes       tls_write_ex, tls_ret_ex
 *   SSL_read_ex(ssl, buf, num, *n)     -> 1, *n bytes       tls_read_ex,  tls_ret_ex
 *   gnutls_record_send(s, buf, size)   -> ssize_t bytes     tls_write, tls_ret_long
 *   gnutls_record_recv(s, buf, size)   -> ssize_t bytes     tls_read,  tls_ret_long
 *   SSL_free(ssl), gnutls_deinit(s)                         tls_free
 *
 * Entry saves the call per thread; return emits what moved. The socket
 * under a session is learnt by io.bpf.h from the socket I/O around it.
 * (BPF_KPROBE and BPF_KRETPROBE read arguments from the same registers
 * for uprobes; this libbpf has no BPF_UPROBE spelling yet.)
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tls.bpf.h"

static __always_inline int tls_enter(const void *ssl, const void *buf, const void *len_ptr, __u8 op)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_tls_thread *t;

	if (!ssl || !pid_traced(id >> 32))
		return 0;
	t = tls_thread(id, true);
	if (!t)
		return 0;
	t->ssl = (__u64)ssl;
	t->buf = (__u64)buf;
	t->len_ptr = (__u64)len_ptr;
	t->ts = bpf_ktime_get_ns();
	t->op = op;
	return 0;
}

/* Plaintext records of one call, positioned in its session's stream. */
static __always_inline void emit_tls_data(struct sonde_tls_session *s, __u64 ssl, __u8 dir,
					  __u64 buf, __u32 len, __u64 ts_enter)
{
	__u64 sk = s->sk;
	struct sonde_conn_info *ci = sk ? bpf_map_lookup_elem(&conns, &sk) : NULL;
	struct data_meta m = {};
	struct chunk k = {};
	__u64 now = bpf_ktime_get_ns();

	dir &= 1;
	k.seq = s->seq[dir];
	s->seq[dir] += len;
	if (ci && ci->tls_ignored) {
		count(SONDE_CNT_IGNORED_CONN, 1);
		return;
	}
	if (ci && ci->skipping[dir]) {
		m.skip_to = ci->skip_seq[dir];
		m.skipping = true;
	}
	m.sk = sk;
	m.tls = ssl;
	m.ts = dir == SONDE_DIR_EGRESS ? ts_enter : now;
	m.ts_end = now;
	m.direction = dir;
	m.role = ci ? ci->role : SONDE_ROLE_UNKNOWN;
	m.source = SONDE_SRC_TLS;
	m.whole = ci && ci->whole;
	if (len) {
		emit_call(&m, (const void *)buf, 0, len, k.seq, false);
		return;
	}
	m.flags = SONDE_DATA_EOF;
	emit_data(&m, &k);
}

/* A TLS call returned having moved `n` plaintext bytes (n <= 0: none). */
static __always_inline int tls_leave(long n, bool ex)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_tls_thread *t = tls_thread(id, false);
	struct sonde_tls_session *s;
	struct sonde_conn_info *ci;
	__u64 ssl, last_recv;
	bool fresh, first;
	__u8 op;

	if (!t || !t->ssl)
		return 0;
	ssl = t->ssl;
	op = t->op;
	fresh = t->recv_fresh;
	last_recv = t->last_recv;
	t->ssl = 0;
	t->recv_fresh = 0;
	if (ex) {
		__u64 moved = 0;

		if (n != 1 || bpf_probe_read_user(&moved, sizeof(moved), (const void *)t->len_ptr))
			return 0;
		n = moved;
	}
	/* A read of 0 is the peer's close_notify (or the socket's end): the
	 * plaintext stream ended, though the socket may never read 0 itself. */
	if (n < 0 || (n == 0 && (ex || op != SONDE_TLS_RECV)))
		return 0;
	s = tls_session(ssl, id >> 32, true);
	if (!s)
		return 0;
	if (!s->sk && n > 0) {
		/* Memory BIO (Node.js): a read's ciphertext came in just before,
		 * on this thread; a write's goes out just after. */
		if (op == SONDE_TLS_RECV && fresh && last_recv) {
			ci = conn_get((struct sock *)last_recv, &first);
			if (ci)
				tls_tie(s, ssl, last_recv, ci);
		} else if (op == SONDE_TLS_SEND) {
			t->pending = ssl;
		}
	}
	emit_tls_data(s, ssl, op == SONDE_TLS_SEND ? SONDE_DIR_EGRESS : SONDE_DIR_INGRESS, t->buf, n, t->ts);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(sonde_tls_write, const void *ssl, const void *buf)
{
	return tls_enter(ssl, buf, NULL, SONDE_TLS_SEND);
}

SEC("uprobe")
int BPF_KPROBE(sonde_tls_read, const void *ssl, void *buf)
{
	return tls_enter(ssl, buf, NULL, SONDE_TLS_RECV);
}

SEC("uprobe")
int BPF_KPROBE(sonde_tls_write_ex, const void *ssl, const void *buf, __u64 num, __u64 *written)
{
	return tls_enter(ssl, buf, written, SONDE_TLS_SEND);
}

SEC("uprobe")
int BPF_KPROBE(sonde_tls_read_ex, const void *ssl, void *buf, __u64 num, __u64 *readbytes)
{
	return tls_enter(ssl, buf, readbytes, SONDE_TLS_RECV);
}

SEC("uretprobe")
int BPF_KRETPROBE(sonde_tls_ret_int, int ret)
{
	return tls_leave(ret, false);
}

SEC("uretprobe")
int BPF_KRETPROBE(sonde_tls_ret_ex, int ret)
{
	return tls_leave(ret, true);
}

SEC("uretprobe")
int BPF_KRETPROBE(sonde_tls_ret_long, long ret)
{
	return tls_leave(ret, false);
}

/* A session ends: its pointer may be reused by the next one, which must
 * not inherit its socket or stream positions. */
SEC("uprobe")
int BPF_KPROBE(sonde_tls_free, const void *ssl)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct sonde_tls_key key = { .ssl = (__u64)ssl, .tgid = id >> 32 };
	struct sonde_tls_thread *t;

	if (!ssl || !pid_traced(key.tgid))
		return 0;
	bpf_map_delete_elem(&tls_sessions, &key);
	t = tls_thread(id, false);
	if (t && t->pending == (__u64)ssl)
		t->pending = 0;
	return 0;
}

/*
 * The dynamic linker calls _dl_debug_state (the debuggers' r_brk hook)
 * around every dlopen and dlclose: a traced process may just have mapped
 * a TLS library (Python loads libssl on `import ssl`), so userspace looks
 * at its maps again.
 */
SEC("uprobe")
int BPF_KPROBE(sonde_dl_debug_state)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u8 verdict = proc_verdict_of(tgid);

	if (verdict != SONDE_VERDICT_IGNORE)
		emit_proc(SONDE_EV_PROC_LIBS, verdict, 0, true);
	return 0;
}
