/* h_open311_xml.c: GeoReport v2 in XML, the format the specification requires (JSON is the
 * provider's option), and the service discovery document that tells clients both exist.
 *
 * Each XML answer is the JSON answer of the same handler, written again as XML by libxml2's
 * writer (escaping is libxml2's): one set of handlers decides what Open311 shows — the privacy
 * rules live there and nowhere else — and this file only changes the notation. A list becomes
 * an element of its plural name holding one element of the singular name per entry
 * (<service_requests><request>…), an object its members in order, null an empty element, true
 * and false those words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "api_int.h"

#define XML_TYPE "text/xml; charset=utf-8"
#define DISCOVERY_CHANGESET "2026-11-30T00:00:00+08:00" /* when the document below last changed */
#define SPEC_GEOREPORT_V2 "http://wiki.open311.org/GeoReport_v2"

/* The element of one entry of each list the answers hold. */
static const struct {
	const char *list, *entry;
} entries[] = {
    {"services", "service"},  {"service_requests", "request"}, {"attributes", "attribute"},
    {"values", "value"},      {"errors", "error"},             {"endpoints", "endpoint"},
    {"formats", "format"},
};

static const char *
entry_name(const char *list)
{
	size_t i;

	for (i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (strcmp(entries[i].list, list) == 0)
			return entries[i].entry;
	return "item";
}

static int write_element(xmlTextWriterPtr w, const char *name, json_t *v);

/* The content of one element: members, entries or text. 0 or -1. */
static int
write_content(xmlTextWriterPtr w, const char *name, json_t *v)
{
	const char *key;
	json_t *x;
	size_t i;
	char num[32];

	if (json_is_object(v)) {
		json_object_foreach(v, key, x)
			if (write_element(w, key, x) != 0)
				return -1;
		return 0;
	}
	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (write_element(w, entry_name(name), x) != 0)
				return -1;
		return 0;
	}
	if (json_is_string(v))
		return xmlTextWriterWriteString(w, BAD_CAST json_string_value(v)) < 0 ? -1 : 0;
	if (json_is_integer(v))
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" : "false");
	else
		return 0; /* null: the element stays empty */
	return xmlTextWriterWriteString(w, BAD_CAST num) < 0 ? -1 : 0;
}

static int
write_element(xmlTextWriterPtr w, const char *name, json_t *v)
{
	if (xmlTextWriterStartElement(w, BAD_CAST name) < 0 || write_content(w, name, v) != 0 ||
	    xmlTextWriterEndElement(w) < 0)
		return -1;
	return 0;
}

/* v as an XML document whose root element is `root` (a list of errors when status is an
 * error), into a new string *out of *len bytes. 0 or -1. */
static int
xml_document(json_t *v, const char *root, int status, char **out, size_t *len)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf != NULL ? xmlNewTextWriterMemory(buf, 0) : NULL;
	int ret = -1;

	if (w == NULL)
		goto out;
	if (status >= 400)
		root = "errors";
	if (xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
	    write_element(w, root, v) != 0 || xmlTextWriterEndDocument(w) < 0)
		goto out;
	xmlFreeTextWriter(w); /* flushes into buf */
	w = NULL;
	*len = (size_t)xmlBufferLength(buf);
	*out = malloc(*len + 1);
	if (*out == NULL)
		goto out;
	memcpy(*out, xmlBufferContent(buf), *len);
	(*out)[*len] = '\0';
	ret = 0;
out:
	if (w != NULL)
		xmlFreeTextWriter(w);
	if (buf != NULL)
		xmlBufferFree(buf);
	return ret;
}

/* Writes the JSON answer in resp again as XML under `root`. */
static void
answer_xml(struct resp *resp, const char *root)
{
	json_t *v = resp->body != NULL ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;
	char *xml = NULL;
	size_t len = 0;

	if (v == NULL || xml_document(v, root, resp->status, &xml, &len) != 0) {
		json_decref(v);
		free(resp->body);
		resp->body = NULL;
		resp->len = 0;
		resp->georeport = 0;
		resp_error(resp, 500, "internal", "the answer cannot be written as XML");
		return;
	}
	json_decref(v);
	free(resp->body);
	resp->body = xml;
	resp->len = len;
	resp->content_type = XML_TYPE;
}

/* Runs the handler h of a "{id}.json" segment, which also takes "{id}.xml", and answers in
 * XML for the latter. */
static void
by_segment(struct req *req, struct resp *resp, void (*h)(struct req *, struct resp *),
           const char *root)
{
	const char *seg = req->params[0];
	size_t len = strlen(seg);

	h(req, resp);
	if (len > 4 && strcmp(seg + len - 4, ".xml") == 0)
		answer_xml(resp, root);
}

void
h_open311_services_xml(struct req *req, struct resp *resp)
{
	h_open311_services(req, resp);
	answer_xml(resp, "services");
}

void
h_open311_service_any(struct req *req, struct resp *resp)
{
	by_segment(req, resp, h_open311_service, "service_definition");
}

void
h_open311_requests_post_xml(struct req *req, struct resp *resp)
{
	h_open311_requests_post(req, resp);
	answer_xml(resp, "service_requests");
}

void
h_open311_requests_get_xml(struct req *req, struct resp *resp)
{
	h_open311_requests_get(req, resp);
	answer_xml(resp, "service_requests");
}

void
h_open311_request_any(struct req *req, struct resp *resp)
{
	by_segment(req, resp, h_open311_request_get, "service_requests");
}

/* The API's ROUTE_ERRORS handler: an error that the HTTP layer answered itself, before any
 * handler ran (no such resource, 405, 413, a malformed form, no database), on an Open311 path
 * in XML (/open311/….xml) is written in GeoReport XML, as the handlers' own errors there are;
 * every other path is left alone. */
void
h_open311_layer_error(struct req *req, struct resp *resp)
{
	size_t len = strlen(req->path);

	if (!resp->georeport || strncmp(req->path, "/open311/", 9) != 0 || len < 4 ||
	    strcmp(req->path + len - 4, ".xml") != 0)
		return;
	answer_xml(resp, "errors");
}

/* 1 if host (a Host header) is a host name or address with an optional port, else 0. */
static int
host_ok(const char *host)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz"
	                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]";
	size_t n = host != NULL ? strlen(host) : 0;

	return n > 0 && n <= 255 && strspn(host, chars) == n;
}

/* The discovery document: where GeoReport v2 is served and in which formats. Without a
 * configured public_url, at the host the client asked (its Host header): the listening address
 * may be a wildcard or port 0. */
static json_t *
discovery(struct req *req)
{
	const struct app *app = req->app;
	char url[512];
	const char *base = app->cfg.public_url, *host = req_header(req, "Host");

	if (base != NULL && base[0] != '\0')
		snprintf(url, sizeof(url), "%.*s/open311/v2",
		         (int)(strlen(base) - (base[strlen(base) - 1] == '/')), base);
	else
		snprintf(url, sizeof(url), "http://%s/open311/v2",
		         host_ok(host) ? host : app->cfg.listen);
	return json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:[s, s]}]}", "changeset",
	                 DISCOVERY_CHANGESET, "contact",
	                 app->cfg.public_contacts != NULL ? app->cfg.public_contacts : "",
	                 "key_service", "", "endpoints", "specification", SPEC_GEOREPORT_V2, "url",
	                 url, "changeset", DISCOVERY_CHANGESET, "type", "production", "formats",
	                 "text/xml", "application/json");
}

/* GET /open311/discovery.json: 200 the service discovery document. */
void
h_open311_discovery(struct req *req, struct resp *resp)
{
	resp_json(resp, 200, discovery(req));
}

/* GET /open311/discovery.xml: the same in XML. */
void
h_open311_discovery_xml(struct req *req, struct resp *resp)
{
	resp_json(resp, 200, discovery(req));
	answer_xml(resp, "discovery");
}
