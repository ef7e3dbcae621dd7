/*
 * ceiling: a minimal libmicrohttpd server that answers every request with a constant JSON body,
 * threaded the same way as civicdesk serve (libmicrohttpd's pool, one thread per CPU on epoll;
 * BENCH_CEILING_TPC=1: one thread per connection, as civicdesk before issue 20). bench/submit.sh
 * and bench/queue.sh load it
 * with wrk to measure what the HTTP layer alone can do on this machine: the ceiling that the
 * submission throughput is compared with.
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

static const char answer[] = "{\"status\":\"ok\"}";

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
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
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
		d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
		                     on_request, NULL, MHD_OPTION_THREAD_POOL_SIZE,
		                     (unsigned)(cpus < 1    ? 1
		                                : cpus > 16 ? 16
		                                            : cpus),
		                     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
		                     MHD_OPTION_CONNECTION_LIMIT, 512u, MHD_OPTION_END);
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
