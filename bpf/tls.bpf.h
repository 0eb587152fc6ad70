/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * TLS sessions and the sockets under them. Shared by tls.bpf.c (the
 * library calls, where the plaintext is) and io.bpf.h (the socket I/O,
 * where the addresses are): whichever sees both ties them together.
 */
#ifndef __SONDE_TLS_BPF_H
#define __SONDE_TLS_BPF_H

#include "data.bpf.h"

/* TLS record header: content type 20..23 (change_cipher_spec, alert,
 * handshake, application_data), then major version 3. */
#define TLS_CT_MIN 20
#define TLS_CT_MAX 23
#define TLS_MAJOR 3

static __always_inline struct sonde_tls_session *tls_session(__u64 ssl, __u32 tgid, bool create)
{
	struct sonde_tls_key key = { .ssl = ssl, .tgid = tgid };
	struct sonde_tls_session fresh = {}, *s;

	s = bpf_map_lookup_elem(&tls_sessions, &key);
	if (s || !create)
		return s;
	bpf_map_update_elem(&tls_sessions, &key, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tls_sessions, &key);
}

static __always_inline void emit_tls_bind(__u64 sk, __u64 ssl)
{
	struct sonde_tls_bind_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		count(SONDE_CNT_DROP_CONTROL, 1);
		return;
	}
	fill_header(&ev->hdr, SONDE_EV_TLS_BIND, bpf_ktime_get_ns());
	ev->sock = sk;
	ev->tls = ssl;
	bpf_ringbuf_submit(ev, rb_flags());
}

/* Session `ssl` runs over socket `sk` (entry `ci`): from now on the
 * socket's bytes are ciphertext, and the session's records name it. */
static __always_inline void tls_tie(struct sonde_tls_session *s, __u64 ssl, __u64 sk,
				    struct sonde_conn_info *ci)
{
	ci->tls = 1;
	if (s->sk == sk)
		return;
	s->sk = sk;
	emit_tls_bind(sk, ssl);
}

/* Thread state, created on first use by a TLS call. */
static __always_inline struct sonde_tls_thread *tls_thread(__u64 id, bool create)
{
	struct sonde_tls_thread fresh = {}, *t;

	t = bpf_map_lookup_elem(&tls_threads, &id);
	if (t || !create)
		return t;
	bpf_map_update_elem(&tls_threads, &id, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tls_threads, &id);
}

#endif /* __SONDE_TLS_BPF_H */
