/*
 * api.h: the JSON API under /api/v1/ and Open311 GeoReport v2 under /open311/v2/ — handlers that
 * read requests, call service/core and answer JSON. Nothing calls them but the route table,
 * which the command that serves hands to the HTTP layer.
 */
#ifndef API_H
#define API_H

#include <stddef.h>

struct route;

/* The routes of the API (lent, static). */
extern const struct route api_routes[];
extern const size_t api_nroutes;

#endif
