/*
 * api.h: the JSON API under /api/v1/ and Open311 GeoReport v2 under /open311/v2/ — handlers that
 * read requests, call service/core and answer JSON. Nothing calls them but the route table,
 * which the command that serves hands to the HTTP layer.
 */
#ifndef API_H
#define API_H

#include <stddef.h>

struct route;
struct api_state;

/* The API's state across requests (what it keeps of its answers, h_items.c), for app->api: new
 * (NULL when out of memory: the API then keeps nothing), and free (NULL is fine). */
struct api_state *api_state_new(void);
void api_state_free(struct api_state *a);

/* The routes of the API (lent, static). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

#endif
