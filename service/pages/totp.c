/*
 * totp.c: the staff page of the second factor, /staff/totp — enrolment for the signed-in account
 * (where the pages send an account whose role needs one): a new key shown as text grouped for
 * typing, as its otpauth:// URI and as a QR code (libqrencode, drawn here as inline SVG: no
 * script, no outside request), the first code to confirm it, then the ten recovery codes, once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <qrencode.h>

#include "pages_int.h"

#define QR_QUIET 4 /* modules of white border the QR standard asks for */

/* The QR code of text as an SVG element (one path of black modules on a white square, scaled
 * by the page's CSS), named by the element with id "qr-caption". A new string, or NULL. */
static char *
qr_svg(const char *text)
{
	QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
	size_t size, used = 0;
	char *out = NULL;
	int w, x, y, run, k;

	if (qr == NULL) {
		log_err("pages: the QR code cannot be made");
		return NULL;
	}
	w = qr->width;
	/* each row has at most w/2+1 runs of black, each at most 24 bytes as path data */
	size = (size_t)w * ((size_t)w / 2 + 1) * 24 + 512;
	out = malloc(size);
	if (out == NULL)
		goto out;
	k = snprintf(out, size,
	             "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	             "role=\"img\" aria-labelledby=\"qr-caption\" shape-rendering=\"crispEdges\">"
	             "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/><path fill=\"#000\" d=\"",
	             w + 2 * QR_QUIET, w + 2 * QR_QUIET, w + 2 * QR_QUIET, w + 2 * QR_QUIET);
	used = (size_t)k;
	for (y = 0; y < w; y++)
		for (x = 0; x < w; x += run) {
			run = 0;
			while (x + run < w && (qr->data[y * w + x + run] & 1))
				run++;
			if (run == 0) {
				run = 1; /* a white module */
				continue;
			}
			k = snprintf(out + used, size - used, "M%d %dh%dv1h-%dz", x + QR_QUIET,
			             y + QR_QUIET, run, run);
			if (k < 0 || (size_t)k >= size - used)
				goto fail;
			used += (size_t)k;
		}
	k = snprintf(out + used, size - used, "\"/></svg>");
	if (k < 0 || (size_t)k >= size - used)
		goto fail;
	goto out;
fail:
	free(out);
	out = NULL;
out:
	QRcode_free(qr);
	return out;
}

/* The key in groups of four characters, as people type it from a screen. */
static void
key_groups(const char *secret, char out[TOTP_SECRET_TEXT * 2])
{
	size_t i, n = 0;

	for (i = 0; secret[i] != '\0' && n + 2 < TOTP_SECRET_TEXT * 2; i++) {
		if (i > 0 && i % 4 == 0)
			out[n++] = ' ';
		out[n++] = secret[i];
	}
	out[n] = '\0';
}

/* The message of a refused enrolment or confirmation. */
static const char *
refusal(const struct core_error *err)
{
	if (err->code_name != NULL && strcmp(err->code_name, "totp_key_unavailable") == 0)
		return "totp.key_unavailable";
	if (err->code == CORE_CONFLICT)
		return err->code_name != NULL && strcmp(err->code_name, "enrolled") == 0
		           ? "totp.enrolled_already"
		           : "totp.not_pending";
	return "totp.failed";
}

/* Renders the page in its state (data "step": enrolled, start, pending or done) with status. */
static void
totp_page(struct page *pg, int status, const char *step, const char *message)
{
	json_object_set_new(pg->data, "required", json_boolean(pg->staff->must_enroll));
	json_object_set_new(pg->data, step, json_true());
	if (message != NULL)
		json_object_set_new(pg->data, "message", json_string(message));
	/* the key, the URI and the recovery codes are never kept by a cache */
	resp_header(pg->resp, "Cache-Control", "no-store");
	page_end(pg, status, "staff_totp");
}

/* The pending enrolment's key, URI and QR code into the page: 1, 0 none pending, -1 error. */
static int
pending_data(struct page *pg)
{
	char secret[TOTP_SECRET_TEXT], uri[TOTP_URI_MAX], groups[TOTP_SECRET_TEXT * 2];
	char *svg;
	int rc = core_totp_pending(pg->req->app, pg->req->db, pg->staff, secret, uri);

	if (rc <= 0)
		return rc;
	svg = qr_svg(uri);
	key_groups(secret, groups);
	json_object_set_new(pg->data, "secret_groups", json_string(groups));
	json_object_set_new(pg->data, "uri", json_string(uri));
	if (svg != NULL)
		json_object_set_new(pg->data, "qr_svg", json_string(svg));
	free(svg);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(uri, sizeof(uri));
	sodium_memzero(groups, sizeof(groups));
	return 1;
}

/* The page as things stand: enrolled (with the recovery codes left), an enrolment to confirm,
 * or the button that starts one. */
void
page_totp_show(struct page *pg, int status, const char *message)
{
	int64_t left = 0;
	int rc = totp_enrolled(pg->req->db, pg->staff->account_id);

	if (rc > 0) {
		if (core_totp_recovery_left(pg->req->db, pg->staff->account_id, &left) != 0) {
			page_error(pg, 500, "err.internal");
			return;
		}
		json_object_set_new(pg->data, "left", page_msg_n(pg, "totp.left", (long)left));
		totp_page(pg, status, "enrolled", message);
		return;
	}
	if (rc == 0)
		rc = pending_data(pg);
	if (rc < 0) {
		page_error(pg, 500, "err.internal");
		return;
	}
	totp_page(pg, status, rc > 0 ? "pending" : "start", message);
}

void
pg_staff_totp_get(struct req *req, struct resp *resp)
{
	struct page pg;

	if (!page_staff_begin(&pg, req, resp, "totp.title", "totp", PAGE_ALLOW_ENROLL))
		return;
	page_totp_show(&pg, 200, NULL);
}

/* POST /staff/totp/enroll: a new key (replacing one not yet confirmed), then the page shows
 * it; 409 when a second factor is in use already. */
void
pg_staff_totp_enroll(struct req *req, struct resp *resp)
{
	char secret[TOTP_SECRET_TEXT], uri[TOTP_URI_MAX];
	struct core_error err;
	struct page pg;

	if (!page_staff_begin(&pg, req, resp, "totp.title", "totp", PAGE_ALLOW_ENROLL))
		return;
	if (!page_csrf_ok(&pg, "staff")) {
		page_totp_show(&pg, 403, page_msg(&pg, "err.csrf"));
		return;
	}
	/* a draft carried from the sign-in (draft_carry) goes on with each step's form */
	page_draft_posted(&pg);
	memset(&err, 0, sizeof(err));
	if (core_totp_enroll(req->app, req->db, pg.staff, req->addr, req->now, secret, uri, &err) !=
	    0) {
		page_totp_show(&pg,
		               err.code == CORE_CONFLICT ? 409
		               : err.code == CORE_BUSY   ? 503
		                                         : 500,
		               page_msg(&pg, refusal(&err)));
		return;
	}
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(uri, sizeof(uri));
	page_totp_show(&pg, 200, NULL);
}

/* POST /staff/totp/confirm: the first code; the page then lists the ten recovery codes, once.
 * A wrong code shows the key again with the error (400). */
void
pg_staff_totp_confirm(struct req *req, struct resp *resp)
{
	char codes[TOTP_RECOVERY_CODES][TOTP_RECOVERY_SIZE];
	struct core_error err;
	struct page pg;
	const char *code;
	json_t *list;
	size_t i;

	if (!page_staff_begin(&pg, req, resp, "totp.title", "totp", PAGE_ALLOW_ENROLL))
		return;
	if (!page_csrf_ok(&pg, "staff")) {
		page_totp_show(&pg, 403, page_msg(&pg, "err.csrf"));
		return;
	}
	/* a draft carried from the sign-in (draft_carry) goes on with each step's form */
	page_draft_posted(&pg);
	code = page_field(&pg, "code");
	memset(&err, 0, sizeof(err));
	if (code == NULL || core_totp_confirm(req->app, req->db, pg.staff, req->addr, code,
	                                      req->now, codes, &err) != 0) {
		if (code == NULL || err.code == CORE_INVALID) {
			json_object_set_new(pg.data, "code_error", json_true());
			page_totp_show(&pg, 400, page_msg(&pg, "totp.wrong_code"));
		} else {
			page_totp_show(&pg,
			               err.code == CORE_CONFLICT ? 409
			               : err.code == CORE_BUSY   ? 503
			                                         : 500,
			               page_msg(&pg, refusal(&err)));
		}
		return;
	}
	list = json_array();
	for (i = 0; i < TOTP_RECOVERY_CODES; i++)
		json_array_append_new(list, json_string(codes[i]));
	sodium_memzero(codes, sizeof(codes));
	json_object_set_new(pg.data, "codes", list);
	/* the session's must_enroll and enroll_by were read before the confirmation */
	pg.staff->must_enroll = 0;
	pg.staff->enroll_by = 0;
	json_object_del(pg.data, "enroll_by");
	totp_page(&pg, 200, "done", NULL);
}
