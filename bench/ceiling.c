/*
 * ceiling: a minimal libmicrohttpd server that answers every request with a constant JSON body,
 * set up as civicdesk serve sets up libmicrohttpd (service/http/http.c: a pool of one thread per
 * CPU on epoll, suspend/resume allowed, 32 KiB per connection, the same connection limits and
 * timeout; BENCH_CEILING_TPC=1: one thread per connection, as civicdesk before issue 20), and
 * answering what a submission's answer looks like: a 201 of 603 bytes (a submission's, with
 * its two clocks) with the same six headers. bench/submit.sh and bench/queue.sh load it with
 * wrk to measure what the HTTP layer alone can do on this machine: the same-run ceiling that
 * the submission throughput is compared with.
 *
 * usage: ceiling PORT   (prints "listening on http://127.0.0.1:PORT", stops on SIGINT/SIGTERM)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

/* A submission's 201 as civicdesk answers it (bench/wrk/submit.lua's body, 2026-11-30). */
static const char answer[] =
    "{\"tracking\":\"XJ-20261130-00001\",\"query_code\":\"UJZACP7YKC7X\",\"state\":\"received\","
    "\"kind\":\"letter\",\"channel\":\"web\",\"received\":\"2026-11-30T06:32:38+08:00\","
    "\"clocks\":{\"forward\":{\"due\":\"2026-12-03T23:59:59+08:00\",\"days\":3,\"unit\":"
    "\"working_days\",\"started\":\"2026-11-30T06:32:38+08:00\",\"working_days_left\":3,"
    "\"overdue\":false,\"state\":\"running\",\"provisional\":false,\"explanation\":[],"
    "\"result\":null},\"reply\":{\"due\":\"2026-12-07T23:59:59+08:00\",\"days\":5,\"unit\":"
    "\"working_days\",\"started\":\"2026-11-30T06:32:38+08:00\",\"working_days_left\":5,"
    "\"overdue\":false,\"state\":\"running\",\"provisional\":false,\"explanation\":[],"
    "\"result\":null}}}";

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
           const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	(void)upload_data;
	if (*con_cls == NULL) {
		*con_cls = conn;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		*upload_size = 0;
		return MHD_YES;
	}
	r = MHD_create_response_from_buffer(sizeof(answer) - 1, (void *)answer,
	                                    MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; charset=utf-8");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Location", "/api/v1/track/XJ-20261130-00001");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	MHD_add_response_header(r, "X-Request-Id", "1a9f634bdf075143");
	ret = MHD_queue_response(conn, MHD_HTTP_CREATED, r);
	MHD_destroy_response(r);
	return ret;
}

int
main(int argc, char *argv[])
{
	struct MHD_Daemon *d;
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	int sig;
	unsigned port = argc > 1 ? (unsigned)atoi(argv[1]) : 8090;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (getenv("BENCH_CEILING_TPC") != NULL && strcmp(getenv("BENCH_CEILING_TPC"), "1") == 0)
		d = MHD_start_daemon(
		    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL,
		    on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		    MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_END);
	else
		d = MHD_start_daemon(
		    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
		        MHD_USE_ERROR_LOG,
		    0, NULL, NULL, on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE,
		    (unsigned)(cpus < 1    ? 1
		               : cpus > 16 ? 16
		                           : cpus),
		    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin, MHD_OPTION_CONNECTION_LIMIT,
		    512u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT,
		    30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768, MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "ceiling: cannot listen on port %u\n", port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on http://127.0.0.1:%u\n", info ? (unsigned)info->port : port);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
