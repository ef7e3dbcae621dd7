/*
 * http_int.h: what the files of service/http share beyond http.h.
 */
#ifndef HTTP_INT_H
#define HTTP_INT_H

#include "http.h"

#endif
