/* routes.c: the table of the pages' routes (handed to the HTTP layer with the API's). Every
 * page route is public for the router: staff pages check the session themselves, so that an
 * absent or ended session sends the browser to the sign-in page instead of a JSON 401. */
#include "pages_int.h"

const struct route pages_routes[] = {
	{ "GET", "/", pg_home, 0, 0 },
	{ "GET", "/submit", pg_submit_get, 0, 0 },
	{ "POST", "/submit", pg_submit_post, 0, ROUTE_FORM },
	{ "GET", "/track", pg_track_get, 0, 0 },
	{ "POST", "/track", pg_track_post, 0, ROUTE_FORM },
	{ "GET", "/board", pg_board, 0, 0 },
	{ "GET", "/static/{}", pg_static, 0, 0 },
	{ "GET", "/staff", pg_staff_slash, 0, 0 },
	{ "GET", "/staff/", pg_staff_queue, 0, 0 },
	{ "GET", "/staff/login", pg_staff_login_get, 0, 0 },
	{ "POST", "/staff/login", pg_staff_login_post, 0, ROUTE_FORM },
	{ "POST", "/staff/logout", pg_staff_logout, 0, ROUTE_FORM },
	{ "GET", "/staff/password", pg_staff_password_get, 0, 0 },
	{ "POST", "/staff/password", pg_staff_password_post, 0, ROUTE_FORM },
	{ "GET", "/staff/totp", pg_staff_totp_get, 0, 0 },
	{ "POST", "/staff/totp/enroll", pg_staff_totp_enroll, 0, ROUTE_FORM },
	{ "POST", "/staff/totp/confirm", pg_staff_totp_confirm, 0, ROUTE_FORM },
	{ "POST", "/staff/resume", pg_staff_resume, 0, ROUTE_FORM },
	{ "GET", "/staff/item/{}", pg_staff_item, 0, 0 },
	{ "POST", "/staff/item/{}", pg_staff_act, 0, ROUTE_FORM },
	{ "POST", "/staff/item/{}/public", pg_staff_public, 0, ROUTE_FORM },
	{ "POST", "/staff/item/{}/citizen_mail", pg_staff_citizen_mail, 0, ROUTE_FORM },
	{ "GET", "/staff/dashboard", pg_staff_dashboard, 0, 0 },
	{ "GET", "/staff/admin", pg_staff_admin, 0, 0 },
	{ "POST", "/staff/admin/accounts", pg_admin_account_add, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/accounts/{}", pg_admin_account_change, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/sections", pg_admin_section_add, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/sections/{}", pg_admin_section_change, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/policies/{}", pg_admin_policy, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/outbox/{}/retry", pg_admin_outbox_retry, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/outbox/retry", pg_admin_outbox_retry_given_up, 0, ROUTE_FORM },
	{ "POST", "/staff/admin/calendar", pg_admin_calendar, 0, ROUTE_FORM },
	{ "GET", "/staff/stats.csv", pg_staff_stats_csv, 0, 0 },
	{ "", "/", pg_layer_error, 0, ROUTE_ERRORS },
};

const size_t pages_nroutes = sizeof(pages_routes) / sizeof(pages_routes[0]);
