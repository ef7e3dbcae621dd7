/*
 * ratelimit.c: per-address limits (submissions per minute, failed tracking look-ups). A fixed
 * table of buckets, each holding a few addresses (set-associative, keyed with a random key so
 * that nobody can aim at one bucket); when a bucket is full the slot whose window ended first is
 * reused. Memory never grows with the number of addresses.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core_int.h"

#define RL_BUCKETS 1024 /* power of two */
#define RL_WAYS 8       /* addresses per bucket */

struct rl_slot {
	uint64_t key;  /* keyed hash of the address; 0 = empty */
	int64_t start; /* start of its current window */
	long count;    /* events counted in that window */
};

struct ratelimit {
	pthread_mutex_t lock; /* guards slots */
	long limit;
	char *ranges; /* NETWORK=N limits of some networks, or NULL (set before use) */
	int64_t window;
	unsigned char hkey[crypto_shorthash_KEYBYTES];
	struct rl_slot slots[RL_BUCKETS][RL_WAYS];
};

struct ratelimit *
ratelimit_new(long limit, int64_t window)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));

	if (rl == NULL)
		return NULL;
	pthread_mutex_init(&rl->lock, NULL);
	rl->limit = limit;
	rl->window = window > 0 ? window : 60;
	randombytes_buf(rl->hkey, sizeof(rl->hkey));
	return rl;
}

void
ratelimit_free(struct ratelimit *rl)
{
	if (rl == NULL)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl->ranges);
	free(rl);
}

int
ratelimit_set_ranges(struct ratelimit *rl, const char *ranges)
{
	char *copy = NULL;

	if (ranges != NULL && ranges[0] != '\0') {
		copy = strdup(ranges);
		if (copy == NULL)
			return -1;
	}
	free(rl->ranges);
	rl->ranges = copy;
	return 0;
}

/* The slot of addr (found, or a fresh one taking the place of the stalest), under the lock. */
static struct rl_slot *
slot_of(struct ratelimit *rl, const char *addr, int64_t now)
{
	unsigned char h[crypto_shorthash_BYTES];
	uint64_t key;
	struct rl_slot *b, *victim = NULL;
	size_t i;

	crypto_shorthash(h, (const unsigned char *)addr, strlen(addr), rl->hkey);
	memcpy(&key, h, sizeof(key));
	if (key == 0)
		key = 1;
	b = rl->slots[(key >> 32) & (RL_BUCKETS - 1)];
	for (i = 0; i < RL_WAYS; i++)
		if (b[i].key == key)
			return &b[i];
	for (i = 0; i < RL_WAYS; i++) {
		if (b[i].key == 0) {
			victim = &b[i];
			break;
		}
		if (victim == NULL || b[i].start < victim->start)
			victim = &b[i];
	}
	victim->key = key;
	victim->start = now;
	victim->count = 0;
	return victim;
}

static int
limited(struct ratelimit *rl, const char *addr, int64_t now, int64_t *retry_after, int count)
{
	struct rl_slot *s;
	long limit;
	int over = 0;

	if (rl == NULL)
		return 0;
	limit = rl->limit;
	if (rl->ranges != NULL)
		netaddr_range_value(rl->ranges, addr, &limit);
	if (limit <= 0)
		return 0;
	pthread_mutex_lock(&rl->lock);
	s = slot_of(rl, addr, now);
	if (now >= s->start + rl->window || now < s->start) {
		s->start = now;
		s->count = 0;
	}
	if (s->count >= limit) {
		over = 1;
		*retry_after = s->start + rl->window - now;
		if (*retry_after < 1)
			*retry_after = 1;
	} else if (count) {
		s->count++;
	}
	pthread_mutex_unlock(&rl->lock);
	return over;
}

int
ratelimit_hit(struct ratelimit *rl, const char *addr, int64_t now, int64_t *retry_after)
{
	return limited(rl, addr, now, retry_after, 1);
}

int
ratelimit_check(struct ratelimit *rl, const char *addr, int64_t now, int64_t *retry_after)
{
	return limited(rl, addr, now, retry_after, 0);
}
