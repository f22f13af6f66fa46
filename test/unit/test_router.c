/*
 * test_router: the route tables through router_match(): every route of
 * each listener to its handler, HEAD served by the GET handler, exact
 * paths only (404 for anything else), /metrics on the management listener
 * only and the API on the public one only (404 on the other, never 405),
 * 405 with the Allow value of the path's methods; and router_endpoint(),
 * the metrics label of a path, one per path whichever listener served it.
 */
#include <stdio.h>
#include <string.h>

#include "handler.h"
#include "metrics.h"
#include "router.h"
#include "util.h"
#include "test.h"

static void
fake_handler(struct request *req)
{
	(void)req;
}

static void
test_router_routes(void)
{
	static const struct {
		const char	*method;
		const char	*path;
		handler_fn	 fn;
	} cases[] = {
		{ "GET",	"/",			handler_index },
		{ "HEAD",	"/",			handler_index },
		{ "GET",	"/healthz",		handler_healthz },
		{ "HEAD",	"/healthz",		handler_healthz },
		{ "GET",	"/readyz",		handler_readyz },
		{ "POST",	"/oauth/token",		handler_token },
		{ "POST",	"/authorize",		handler_authorize },
		{ "GET",	"/verify",		handler_verify },
		{ "HEAD",	"/verify",		handler_verify },
		{ "POST",	"/verify",		handler_verify },
		{ "POST",	"/oauth/introspect",	handler_introspect },
		{ "POST",	"/oauth/revoke",	handler_revoke },
		{ "GET",	"/.well-known/jwks.json", handler_jwks },
		{ "GET",	"/.well-known/oauth-authorization-server",
		    handler_metadata },
	};
	static const struct {
		const char	*method;
		const char	*path;
		handler_fn	 fn;
	} management[] = {
		{ "GET",	"/healthz",		handler_healthz },
		{ "HEAD",	"/healthz",		handler_healthz },
		{ "GET",	"/readyz",		handler_readyz },
		{ "HEAD",	"/readyz",		handler_readyz },
		{ "GET",	"/metrics",		handler_metrics },
		{ "HEAD",	"/metrics",		handler_metrics },
	};
	handler_fn	 fn;
	char		 allow[ROUTER_ALLOW_MAX];
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		fn = NULL;
		TEST_ASSERT(router_match(REQUEST_PUBLIC, cases[i].method,
		    cases[i].path, &fn, allow) == ROUTER_FOUND);
		TEST_ASSERT(fn == cases[i].fn);
	}
	for (i = 0; i < nitems(management); i++) {
		fn = NULL;
		TEST_ASSERT(router_match(REQUEST_MANAGEMENT,
		    management[i].method, management[i].path, &fn, allow) ==
		    ROUTER_FOUND);
		TEST_ASSERT(fn == management[i].fn);
	}
}

/*
 * Each listener answers 404 for the other's paths, whatever the method:
 * the public port does not even say that /metrics exists.
 */
static void
test_router_listeners_apart(void)
{
	static const char *const public_only[] = {
		"/", "/oauth/token", "/authorize", "/verify",
		"/oauth/introspect", "/oauth/revoke", "/.well-known/jwks.json",
		"/.well-known/oauth-authorization-server",
	};
	static const char *const methods[] = {
		"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
	};
	handler_fn	 fn;
	char		 allow[ROUTER_ALLOW_MAX];
	size_t		 i, m;

	for (m = 0; m < nitems(methods); m++) {
		fn = fake_handler;
		TEST_ASSERT(router_match(REQUEST_PUBLIC, methods[m],
		    "/metrics", &fn, allow) == ROUTER_NOT_FOUND);
		TEST_ASSERT(fn == fake_handler);
		for (i = 0; i < nitems(public_only); i++)
			TEST_ASSERT(router_match(REQUEST_MANAGEMENT,
			    methods[m], public_only[i], &fn, allow) ==
			    ROUTER_NOT_FOUND);
		TEST_ASSERT(fn == fake_handler);
	}
	TEST_ASSERT(router_endpoint(REQUEST_PUBLIC, "/metrics") == -1);
	for (i = 0; i < nitems(public_only); i++)
		TEST_ASSERT(router_endpoint(REQUEST_MANAGEMENT,
		    public_only[i]) == -1);
}

static void
test_router_not_found(void)
{
	static const char *const paths[] = {
		"", "/nope", "/oauth", "/oauth/", "/oauth/token/",
		"/OAUTH/TOKEN", "/oauth/token?x=1", "//oauth/token",
		"/oauth/token/../token", "/verify ", "/.well-known",
		"/.well-known/", "/metrics/", "/healthz%00", "index.html",
	};
	handler_fn	 fn;
	char		 allow[ROUTER_ALLOW_MAX];
	size_t		 i;

	for (i = 0; i < nitems(paths); i++) {
		/* Neither output is touched. */
		fn = fake_handler;
		strcpy(allow, "unchanged");
		TEST_ASSERT(router_match(REQUEST_PUBLIC, "GET", paths[i], &fn,
		    allow) == ROUTER_NOT_FOUND);
		TEST_ASSERT(router_match(REQUEST_PUBLIC, "POST", paths[i], &fn,
		    allow) == ROUTER_NOT_FOUND);
		TEST_ASSERT(router_match(REQUEST_MANAGEMENT, "GET", paths[i],
		    &fn, allow) == ROUTER_NOT_FOUND);
		TEST_ASSERT(fn == fake_handler);
		TEST_ASSERT(strcmp(allow, "unchanged") == 0);
	}
}

static void
test_router_method_not_allowed(void)
{
	static const struct {
		const char	*method;
		const char	*path;
		const char	*allow;
	} cases[] = {
		{ "GET",	"/oauth/token",		"POST" },
		/* HEAD is GET: not a POST route either */
		{ "HEAD",	"/oauth/token",		"POST" },
		{ "PUT",	"/oauth/token",		"POST" },
		{ "GET",	"/authorize",		"POST" },
		{ "GET",	"/oauth/introspect",	"POST" },
		{ "DELETE",	"/oauth/revoke",	"POST" },
		{ "DELETE",	"/verify",		"GET, HEAD, POST" },
		{ "PUT",	"/verify",		"GET, HEAD, POST" },
		{ "POST",	"/",			"GET, HEAD" },
		{ "POST",	"/healthz",		"GET, HEAD" },
		{ "POST",	"/readyz",		"GET, HEAD" },
		{ "OPTIONS",	"/.well-known/jwks.json", "GET, HEAD" },
		{ "POST",	"/.well-known/oauth-authorization-server",
		    "GET, HEAD" },
		/* Methods are matched exactly, case included. */
		{ "get",	"/healthz",		"GET, HEAD" },
		{ "post",	"/oauth/token",		"POST" },
		{ "",		"/verify",		"GET, HEAD, POST" },
	};
	handler_fn	 fn;
	char		 allow[ROUTER_ALLOW_MAX];
	size_t		 i;

	static const struct {
		const char	*method;
		const char	*path;
	} management[] = {
		{ "POST",	"/metrics" },
		{ "PUT",	"/metrics" },
		{ "DELETE",	"/healthz" },
		{ "POST",	"/readyz" },
		{ "get",	"/metrics" },
	};

	for (i = 0; i < nitems(cases); i++) {
		fn = fake_handler;
		TEST_ASSERT(router_match(REQUEST_PUBLIC, cases[i].method,
		    cases[i].path, &fn, allow) == ROUTER_BAD_METHOD);
		TEST_ASSERT(strcmp(allow, cases[i].allow) == 0);
		TEST_ASSERT(fn == fake_handler);
	}
	for (i = 0; i < nitems(management); i++) {
		fn = fake_handler;
		TEST_ASSERT(router_match(REQUEST_MANAGEMENT,
		    management[i].method, management[i].path, &fn, allow) ==
		    ROUTER_BAD_METHOD);
		TEST_ASSERT(strcmp(allow, "GET, HEAD") == 0);
		TEST_ASSERT(fn == fake_handler);
	}
}

static void
test_router_endpoints(void)
{
	static const struct {
		enum request_listener	 listener;
		const char		*path;
	} paths[] = {
		{ REQUEST_PUBLIC,	"/" },
		{ REQUEST_PUBLIC,	"/healthz" },
		{ REQUEST_PUBLIC,	"/readyz" },
		{ REQUEST_PUBLIC,	"/oauth/token" },
		{ REQUEST_PUBLIC,	"/authorize" },
		{ REQUEST_PUBLIC,	"/verify" },
		{ REQUEST_PUBLIC,	"/oauth/introspect" },
		{ REQUEST_PUBLIC,	"/oauth/revoke" },
		{ REQUEST_PUBLIC,	"/.well-known/jwks.json" },
		{ REQUEST_PUBLIC,
		    "/.well-known/oauth-authorization-server" },
		{ REQUEST_MANAGEMENT,	"/metrics" },
	};
	const char	*name;
	int		 e, seen[METRICS_ENDPOINTS];
	size_t		 i, named = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < nitems(paths); i++) {
		e = router_endpoint(paths[i].listener, paths[i].path);
		/* The last slot is "other": no route has it. */
		TEST_ASSERT(e >= 0 && e < METRICS_ENDPOINTS - 1);
		TEST_ASSERT(!seen[e]);
		seen[e] = 1;
		name = router_endpoint_name(e);
		TEST_ASSERT(name != NULL && strcmp(name, paths[i].path) == 0);
	}
	/* Only the first row of a path names an endpoint. */
	for (e = -1; e <= METRICS_ENDPOINTS; e++)
		if (router_endpoint_name(e) != NULL)
			named++;
	TEST_ASSERT(named == nitems(paths));
	/* Routed on both listeners: one endpoint, so one label. */
	TEST_ASSERT(router_endpoint(REQUEST_MANAGEMENT, "/healthz") ==
	    router_endpoint(REQUEST_PUBLIC, "/healthz"));
	TEST_ASSERT(router_endpoint(REQUEST_MANAGEMENT, "/readyz") ==
	    router_endpoint(REQUEST_PUBLIC, "/readyz"));
	TEST_ASSERT(router_endpoint(REQUEST_PUBLIC, "/nope") == -1);
	TEST_ASSERT(router_endpoint(REQUEST_MANAGEMENT, "/nope") == -1);
	TEST_ASSERT(router_endpoint(REQUEST_PUBLIC, "/verify/") == -1);
	TEST_ASSERT(router_endpoint(REQUEST_PUBLIC, "") == -1);
}

int
main(void)
{
	test_run(test_router_routes);
	test_run(test_router_listeners_apart);
	test_run(test_router_not_found);
	test_run(test_router_method_not_allowed);
	test_run(test_router_endpoints);
	return test_summary();
}
