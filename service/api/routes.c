/* routes.c: the table of every route of the API: method, path pattern, handler, roles, flags. */
#include "api_int.h"

#define STAFF ROLES_STAFF

const struct route api_routes[] = {
	{ "GET", "/api/v1/health", h_health, 0, ROUTE_READ },
	{ "POST", "/api/v1/login", h_login, 0, 0 },
	{ "POST", "/api/v1/logout", h_logout, STAFF, 0 },
	{ "GET", "/api/v1/me", h_me, STAFF, 0 },
	{ "POST", "/api/v1/password", h_password, STAFF, 0 },
	{ "GET", "/api/v1/totp", h_totp_status, STAFF, 0 },
	{ "POST", "/api/v1/totp/enroll", h_totp_enroll, STAFF, 0 },
	{ "POST", "/api/v1/totp/confirm", h_totp_confirm, STAFF, 0 },
	{ "DELETE", "/api/v1/admin/users/{}/totp", h_admin_totp_reset, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/users", h_admin_users_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/admin/users", h_admin_users_add, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "PATCH", "/api/v1/admin/users/{}", h_admin_users_patch, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/sections", h_admin_sections_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/admin/sections", h_admin_sections_add, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "PATCH", "/api/v1/admin/sections/{}", h_admin_sections_patch, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/policies", h_admin_policies_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "PATCH", "/api/v1/admin/policies/{}", h_admin_policies_patch, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/outbox", h_admin_outbox_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/admin/outbox/{}/retry", h_admin_outbox_retry, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/admin/mail", h_admin_mail_list, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/audit", h_audit, ROLE_BIT(ROLE_ADMIN), 0 },
	{ "POST", "/api/v1/items", h_items_post, 0, ROUTE_FORM | ROUTE_ASYNC },
	{ "GET", "/api/v1/items/{}", h_item_get, STAFF, 0 },
	{ "GET", "/api/v1/items/{}/attachments/{}", h_item_attachment, STAFF, 0 },
	{ "GET", "/api/v1/track/{}", h_track, 0, ROUTE_READ },
	{ "POST", "/api/v1/track/{}/supplement", h_track_supplement, 0, ROUTE_FORM },
	{ "POST", "/api/v1/track/{}/withdraw", h_track_withdraw, 0, 0 },
	{ "GET", "/open311/discovery.json", h_open311_discovery, 0, ROUTE_READ },
	{ "GET", "/open311/discovery.xml", h_open311_discovery_xml, 0, ROUTE_READ },
	{ "GET", "/open311/v2/services.json", h_open311_services, 0, ROUTE_READ },
	{ "GET", "/open311/v2/services.xml", h_open311_services_xml, 0, ROUTE_READ },
	{ "GET", "/open311/v2/services/{}", h_open311_service_any, 0, ROUTE_READ },
	{ "POST", "/open311/v2/requests.json", h_open311_requests_post, 0, ROUTE_FORM },
	{ "POST", "/open311/v2/requests.xml", h_open311_requests_post_xml, 0, ROUTE_FORM },
	{ "GET", "/open311/v2/requests.json", h_open311_requests_get, 0, ROUTE_READ },
	{ "GET", "/open311/v2/requests.xml", h_open311_requests_get_xml, 0, ROUTE_READ },
	{ "GET", "/open311/v2/requests/{}", h_open311_request_any, 0, ROUTE_READ },
	/* the layer's own errors on Open311's .xml paths, in XML */
	{ "", "/open311/", h_open311_layer_error, 0, ROUTE_ERRORS },
	{ "POST", "/api/v1/items/{}/actions/{}", h_item_action, STAFF, 0 },
	{ "PATCH", "/api/v1/items/{}/public", h_item_public_patch,
	  ROLE_BIT(ROLE_SECTION_HEAD) | ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/queue", h_queue, STAFF, ROUTE_READ },
	{ "GET", "/api/v1/public/items", h_public_list, 0, ROUTE_READ },
	{ "GET", "/api/v1/public/items/{}", h_public_get, 0, ROUTE_READ },
	{ "POST", "/api/v1/track/{}/rating", h_track_rating, 0, 0 },
	{ "POST", "/api/v1/items/{}/followup", h_item_followup, ROLE_BIT(ROLE_SECTION_HEAD), 0 },
	{ "POST", "/api/v1/items/{}/supervision", h_item_supervise, ROLE_BIT(ROLE_SUPERVISOR), 0 },
	{ "POST", "/api/v1/items/{}/screening", h_item_screening,
	  ROLE_BIT(ROLE_DISPATCHER) | ROLE_BIT(ROLE_SUPERVISOR) | ROLE_BIT(ROLE_ADMIN), 0 },
	{ "GET", "/api/v1/stats", h_stats,
	  ROLE_BIT(ROLE_SUPERVISOR) | ROLE_BIT(ROLE_ADMIN) | ROLE_BIT(ROLE_SECTION_HEAD), 0 },
#ifdef CIVICDESK_TEST_HOOKS
	{ "POST", "/api/v1/test/clock", h_test_clock, 0, 0 },
#endif
};

const size_t api_nroutes = sizeof(api_routes) / sizeof(api_routes[0]);
