/*
 * What one probed TLS-library call costs the calling thread, for
 * `npm run bench` (bench/lib/uprobeHit.ts): two tight loops over calls
 * that Sonde probes in libssl, timed with CLOCK_MONOTONIC.
 *
 *   SSL_free(NULL)   a no-op OpenSSL allows; Sonde has a uprobe (entry
 *                    only) on SSL_free, whose program returns at once on a
 *                    NULL session: the bare cost of the trap.
 *   SSL_read(ssl)    on a client session over two memory BIOs, mid
 *                    handshake, with nothing to read: returns -1
 *                    (SSL_ERROR_WANT_READ) at once, doing no I/O. Sonde
 *                    has a uprobe and a uretprobe on SSL_read: the
 *                    realistic entry + return pair, its programs running
 *                    as far as a call that moved no data goes.
 *
 *   uprobe-hit [iterations [rounds]]
 *
 * Prints "ready" and waits for a line on stdin (so the caller can start
 * Sonde around a process that already exists), then runs `rounds` rounds
 * of each loop, alternating, and prints one JSON line: nanoseconds per
 * call for each round, and whether the kernel's uprobe area ([uprobes], [uprobes-trampoline]) got
 * mapped into this process, i.e. whether a probe was ever hit.
 */
#define _GNU_SOURCE
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int uprobes_mapped(void)
{
	char line[512];
	int found = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "[uprobes") != NULL;
	fclose(f);
	return found;
}

static void print_rounds(const char *name, const double *ns, int rounds)
{
	printf("\"%s\":[", name);
	for (int r = 0; r < rounds; r++)
		printf("%s%.2f", r ? "," : "", ns[r]);
	printf("]");
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? atol(argv[1]) : 200000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	char buf[256], line[64];
	double *free_ns, *read_ns;
	SSL_CTX *ctx;
	SSL *ssl;
	int ret, err;

	if (iterations <= 0 || rounds <= 0 || rounds > 1000) {
		fprintf(stderr, "usage: %s [iterations [rounds]]\n", argv[0]);
		return 2;
	}
	free_ns = calloc(rounds, sizeof(*free_ns));
	read_ns = calloc(rounds, sizeof(*read_ns));
	ctx = SSL_CTX_new(TLS_client_method());
	ssl = ctx ? SSL_new(ctx) : NULL;
	if (!free_ns || !read_ns || !ssl) {
		fprintf(stderr, "uprobe-hit: setup failed\n");
		return 1;
	}
	SSL_set_bio(ssl, BIO_new(BIO_s_mem()), BIO_new(BIO_s_mem()));
	SSL_set_connect_state(ssl);
	/* The first read writes the ClientHello to the outgoing BIO; every
	 * later one finds no ServerHello and returns at once. */
	ret = SSL_read(ssl, buf, sizeof(buf));
	err = SSL_get_error(ssl, ret);
	if (ret != -1 || err != SSL_ERROR_WANT_READ) {
		fprintf(stderr, "uprobe-hit: SSL_read returned %d (error %d), expected -1 (SSL_ERROR_WANT_READ)\n", ret, err);
		return 1;
	}

	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 1;

	for (int r = 0; r < rounds; r++) {
		double t0 = now_ns();

		for (long i = 0; i < iterations; i++)
			SSL_free(NULL);
		free_ns[r] = (now_ns() - t0) / iterations;

		t0 = now_ns();
		for (long i = 0; i < iterations; i++)
			ret = SSL_read(ssl, buf, sizeof(buf));
		read_ns[r] = (now_ns() - t0) / iterations;
		err = SSL_get_error(ssl, ret);
		if (ret != -1 || err != SSL_ERROR_WANT_READ || ERR_peek_error()) {
			fprintf(stderr, "uprobe-hit: SSL_read changed behaviour: %d (error %d)\n", ret, err);
			return 1;
		}
	}

	printf("{\"iterations\":%ld,", iterations);
	print_rounds("sslFreeNull", free_ns, rounds);
	printf(",");
	print_rounds("sslReadEmpty", read_ns, rounds);
	printf(",\"uprobesMapped\":%s,\"openssl\":\"%s\"}\n", uprobes_mapped() ? "true" : "false",
	       OpenSSL_version(OPENSSL_VERSION));
	fflush(stdout);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return 0;
}
