/*
 * etcd's v3 JSON gateway bodies, built and read with json-c; keys and
 * values in base64 with libsodium's codec.  See etcd_codec.h.
 */
#include "etcd_codec.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* deeper than any reply etcd gives; json-c's own default is 32 */
#define ETCD_JSON_DEPTH 16

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* ---- building */

static char *b64(const void *data, size_t len)
{
	size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(n);

	if (s != NULL)
		sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

/* obj[name] = base64 of data; 0 or -1 */
static int add_b64(json_object *obj, const char *name, const void *data, size_t len)
{
	char *s = b64(data, len);
	json_object *v;

	if (s == NULL)
		return -1;
	v = json_object_new_string(s);
	free(s);
	if (v == NULL)
		return -1;
	return json_object_object_add(obj, name, v);
}

/* obj[name] = n as a string, as the gateway writes 64-bit numbers */
static int add_i64(json_object *obj, const char *name, int64_t n)
{
	char s[24];
	json_object *v;

	snprintf(s, sizeof(s), "%" PRId64, n);
	v = json_object_new_string(s);
	return v == NULL ? -1 : json_object_object_add(obj, name, v);
}

static int add_obj(json_object *obj, const char *name, json_object *v)
{
	if (v == NULL)
		return -1;
	if (json_object_object_add(obj, name, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The text of obj, which is released; NULL when building failed (bad). */
static char *finish(json_object *obj, int bad)
{
	char *s = NULL;

	if (obj != NULL && !bad) {
		const char *t = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
		if (t != NULL)
			s = strdup(t);
	}
	json_object_put(obj);
	return s;
}

/* The end of the range of every key under prefix (etcd's rule: the prefix
 * with its last byte below 0xff raised by one, the bytes after it cut).
 * *len 0: no end, every key from prefix on. */
static void prefix_end(const char *prefix, unsigned char *buf, size_t *len)
{
	size_t n = strlen(prefix);

	memcpy(buf, prefix, n);
	while (n > 0 && buf[n - 1] == 0xff)
		n--;
	if (n > 0)
		buf[n - 1]++;
	*len = n;
}

/* key (and range_end for a prefix) into obj */
static int add_key(json_object *obj, const char *key, int prefix)
{
	if (add_b64(obj, "key", key, strlen(key)) != 0)
		return -1;
	if (prefix) {
		size_t n;
		unsigned char *end = malloc(strlen(key) + 1);
		int rc;
		if (end == NULL)
			return -1;
		prefix_end(key, end, &n);
		/* no end: "\0", every key from the prefix on */
		rc = n > 0 ? add_b64(obj, "range_end", end, n) : add_b64(obj, "range_end", "", 1);
		free(end);
		return rc;
	}
	return 0;
}

char *etcd_req_lease_grant(int64_t ttl_s)
{
	json_object *o = json_object_new_object();

	return finish(o, o == NULL || add_i64(o, "TTL", ttl_s) != 0);
}

char *etcd_req_lease(int64_t id)
{
	json_object *o = json_object_new_object();

	return finish(o, o == NULL || add_i64(o, "ID", id) != 0);
}

char *etcd_req_range(const char *key, int prefix)
{
	json_object *o = json_object_new_object();

	return finish(o, o == NULL || add_key(o, key, prefix) != 0);
}

static json_object *put_op(const char *key, const void *value, size_t vlen, int64_t lease)
{
	json_object *p = json_object_new_object();
	int bad = p == NULL || add_b64(p, "key", key, strlen(key)) != 0 || add_b64(p, "value", value, vlen) != 0 ||
		  (lease != 0 && add_i64(p, "lease", lease) != 0);

	if (bad) {
		json_object_put(p);
		return NULL;
	}
	return p;
}

char *etcd_req_put(const char *key, const void *value, size_t vlen, int64_t lease)
{
	return finish(put_op(key, value, vlen, lease), 0);
}

/* {"key": ..., "target": target, field: n} */
static json_object *compare(const char *key, const char *target, const char *field, int64_t n)
{
	json_object *c = json_object_new_object();
	int bad = c == NULL || add_b64(c, "key", key, strlen(key)) != 0 ||
		  add_obj(c, "target", json_object_new_string(target)) != 0 ||
		  add_obj(c, "result", json_object_new_string("EQUAL")) != 0 || add_i64(c, field, n) != 0;

	if (bad) {
		json_object_put(c);
		return NULL;
	}
	return c;
}

/* {name: op} */
static json_object *request(const char *name, json_object *op)
{
	json_object *r;

	if (op == NULL)
		return NULL;
	r = json_object_new_object();
	if (r == NULL || add_obj(r, name, op) != 0) {
		json_object_put(r);
		json_object_put(op);
		return NULL;
	}
	return r;
}

static json_object *range_op(const char *key)
{
	json_object *o = json_object_new_object();

	if (o == NULL || add_key(o, key, 0) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static json_object *delete_op(const char *key)
{
	return range_op(key); /* the same fields */
}

/* {"compare": [c...], "success": [ok...], "failure": [ko]} */
static char *txn_n(json_object **cmp, size_t ncmp, json_object **ok, size_t nok, json_object *ko)
{
	json_object *o = json_object_new_object(), *ca = json_object_new_array(), *sa = json_object_new_array(),
		    *fa = json_object_new_array();
	int bad = o == NULL || ca == NULL || sa == NULL || fa == NULL || ko == NULL;

	for (size_t i = 0; i < nok; i++)
		bad = bad || ok[i] == NULL;
	for (size_t i = 0; i < ncmp; i++) {
		if (cmp[i] == NULL || bad || json_object_array_add(ca, cmp[i]) != 0) {
			json_object_put(cmp[i]);
			bad = 1;
		}
	}
	for (size_t i = 0; i < nok; i++) {
		if (!bad && json_object_array_add(sa, ok[i]) != 0)
			json_object_put(ok[i]), bad = 1;
		else if (bad)
			json_object_put(ok[i]);
	}
	if (!bad && json_object_array_add(fa, ko) != 0)
		json_object_put(ko), bad = 1;
	else if (bad)
		json_object_put(ko);
	if (!bad) {
		bad = add_obj(o, "compare", ca) != 0;
		ca = NULL;
		bad = bad || add_obj(o, "success", sa) != 0;
		sa = NULL;
		bad = bad || add_obj(o, "failure", fa) != 0;
		fa = NULL;
	}
	json_object_put(ca);
	json_object_put(sa);
	json_object_put(fa);
	return finish(o, bad);
}

static char *txn(json_object **cmp, size_t ncmp, json_object *ok, json_object *ko)
{
	return txn_n(cmp, ncmp, &ok, 1, ko);
}

char *etcd_req_create(const char *key, const void *value, size_t vlen, int64_t lease, const char *guard,
		      int64_t guard_mod)
{
	json_object *cmp[2];
	size_t n = 0;

	cmp[n++] = compare(key, "CREATE", "create_revision", 0);
	if (guard != NULL)
		cmp[n++] = compare(guard, "MOD", "mod_revision", guard_mod);
	return txn(cmp, n, request("request_put", put_op(key, value, vlen, lease)),
		   request("request_range", range_op(key)));
}

char *etcd_req_delete_own(const char *key, int64_t create_rev)
{
	return etcd_req_delete_own_put(key, create_rev, NULL, 0);
}

char *etcd_req_delete_own_put(const char *key, int64_t create_rev, const struct etcd_put *puts, size_t nputs)
{
	json_object *cmp, *ok[1 + 4];
	size_t n = 0;

	if (nputs > 4)
		return NULL;
	cmp = compare(key, "CREATE", "create_revision", create_rev);
	ok[n++] = request("request_delete_range", delete_op(key));
	for (size_t i = 0; i < nputs; i++)
		ok[n++] = request("request_put", put_op(puts[i].key, puts[i].value, puts[i].vlen, puts[i].lease));
	return txn_n(&cmp, 1, ok, n, request("request_range", range_op(key)));
}

char *etcd_req_swap(const char *key, const void *value, size_t vlen, int64_t mod_rev)
{
	json_object *cmp = compare(key, "MOD", "mod_revision", mod_rev);

	return txn(&cmp, 1, request("request_put", put_op(key, value, vlen, 0)),
		   request("request_range", range_op(key)));
}

char *etcd_req_watch(const char *key, int prefix, int64_t start_rev)
{
	json_object *o = json_object_new_object(), *c = json_object_new_object();
	int bad = o == NULL || c == NULL || add_key(c, key, prefix) != 0 ||
		  (start_rev > 0 && add_i64(c, "start_revision", start_rev) != 0) ||
		  add_obj(c, "prev_kv", json_object_new_boolean(1)) != 0;

	if (!bad) {
		bad = add_obj(o, "create_request", c) != 0;
		c = NULL;
	}
	json_object_put(c);
	return finish(o, bad);
}

char *etcd_req_auth(const char *user, const char *password)
{
	json_object *o = json_object_new_object();
	int bad = o == NULL || add_obj(o, "name", json_object_new_string(user)) != 0 ||
		  add_obj(o, "password", json_object_new_string(password)) != 0;

	return finish(o, bad);
}

/* ---- reading */

static int only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	return 1;
}

static json_object *parse(const char *body, size_t len, char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *o;
	enum json_tokener_error e;

	if (len > INT32_MAX) {
		fail(err, errlen, "reply too large");
		return NULL;
	}
	tok = json_tokener_new_ex(ETCD_JSON_DEPTH);
	if (tok == NULL) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	o = json_tokener_parse_ex(tok, body, (int)len);
	e = json_tokener_get_error(tok);
	if (o == NULL || e != json_tokener_success) {
		fail(err, errlen, "not JSON: %s", o == NULL && e == json_tokener_continue ? "cut short"
						   : json_tokener_error_desc(e));
		json_object_put(o);
		o = NULL;
	} else if (!only_space(body + json_tokener_get_parse_end(tok), len - json_tokener_get_parse_end(tok))) {
		fail(err, errlen, "text after the JSON object");
		json_object_put(o);
		o = NULL;
	} else if (!json_object_is_type(o, json_type_object)) {
		fail(err, errlen, "not a JSON object");
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* obj[name] as a 64-bit integer (a string of digits, or a JSON number);
 * absent: *n = 0.  0 or -1. */
static int get_i64(json_object *obj, const char *name, int64_t *n, char *err, size_t errlen)
{
	json_object *v;

	*n = 0;
	if (!json_object_object_get_ex(obj, name, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*n = json_object_get_int64(v);
		return 0;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		char *end;
		long long x;
		errno = 0;
		x = strtoll(s, &end, 10);
		if (*s != '\0' && *end == '\0' && errno == 0 && (*s == '-' || (*s >= '0' && *s <= '9'))) {
			*n = x;
			return 0;
		}
	}
	return fail(err, errlen, "%s: not a 64-bit integer", name);
}

/* obj[name] as an object or absent (*out NULL); -1 for another type */
static int get_obj(json_object *obj, const char *name, json_object **out, char *err, size_t errlen)
{
	json_object *v;

	*out = NULL;
	if (!json_object_object_get_ex(obj, name, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return fail(err, errlen, "%s: not an object", name);
	*out = v;
	return 0;
}

static int get_bool(json_object *obj, const char *name, int *b, char *err, size_t errlen)
{
	json_object *v;

	*b = 0;
	if (!json_object_object_get_ex(obj, name, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(err, errlen, "%s: not a boolean", name);
	*b = json_object_get_boolean(v);
	return 0;
}

/* obj[name] copied as text (absent: ""); -1 for another type */
static int get_str(json_object *obj, const char *name, char *buf, size_t len, char *err, size_t errlen)
{
	json_object *v;

	buf[0] = '\0';
	if (!json_object_object_get_ex(obj, name, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(err, errlen, "%s: not a string", name);
	snprintf(buf, len, "%s", json_object_get_string(v));
	return 0;
}

/* base64 text of obj[name] decoded into a malloc'd, NUL-terminated buffer
 * (absent: empty).  0 or -1. */
static int get_b64(json_object *obj, const char *name, unsigned char **out, size_t *outlen, char *err,
		   size_t errlen)
{
	json_object *v;
	const char *s = "";
	size_t slen, n;

	*out = NULL;
	*outlen = 0;
	if (json_object_object_get_ex(obj, name, &v) && v != NULL) {
		if (!json_object_is_type(v, json_type_string))
			return fail(err, errlen, "%s: not a string", name);
		s = json_object_get_string(v);
	}
	slen = strlen(s);
	*out = malloc(slen / 4 * 3 + 4);
	if (*out == NULL)
		return fail(err, errlen, "out of memory");
	if (sodium_base642bin(*out, slen / 4 * 3 + 3, s, slen, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		free(*out);
		*out = NULL;
		return fail(err, errlen, "%s: not base64", name);
	}
	(*out)[n] = '\0';
	*outlen = n;
	return 0;
}

static void kv_free(struct etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

static int get_kv(json_object *o, struct etcd_kv *kv, char *err, size_t errlen)
{
	size_t klen;

	memset(kv, 0, sizeof(*kv));
	if (get_b64(o, "key", (unsigned char **)&kv->key, &klen, err, errlen) != 0)
		return -1;
	if (strlen(kv->key) != klen) {
		kv_free(kv);
		return fail(err, errlen, "key: a NUL byte in it");
	}
	if (get_b64(o, "value", &kv->value, &kv->vlen, err, errlen) != 0 ||
	    get_i64(o, "create_revision", &kv->create_revision, err, errlen) != 0 ||
	    get_i64(o, "mod_revision", &kv->mod_revision, err, errlen) != 0 ||
	    get_i64(o, "version", &kv->version, err, errlen) != 0 ||
	    get_i64(o, "lease", &kv->lease, err, errlen) != 0) {
		kv_free(kv);
		return -1;
	}
	return 0;
}

void etcd_kvs_free(struct etcd_kvs *kvs)
{
	for (size_t i = 0; i < kvs->n; i++)
		kv_free(&kvs->v[i]);
	free(kvs->v);
	kvs->v = NULL;
	kvs->n = 0;
}

/* obj[name], an array of key-values, appended to kvs */
static int get_kvs(json_object *obj, const char *name, struct etcd_kvs *kvs, char *err, size_t errlen)
{
	json_object *a;
	size_t n;

	if (!json_object_object_get_ex(obj, name, &a) || a == NULL)
		return 0;
	if (!json_object_is_type(a, json_type_array))
		return fail(err, errlen, "%s: not an array", name);
	n = json_object_array_length(a);
	if (n == 0)
		return 0;
	{
		struct etcd_kv *v = realloc(kvs->v, (kvs->n + n) * sizeof(*v));
		if (v == NULL)
			return fail(err, errlen, "out of memory");
		kvs->v = v;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(a, i);
		if (e == NULL || !json_object_is_type(e, json_type_object))
			return fail(err, errlen, "%s[%zu]: not an object", name, i);
		if (get_kv(e, &kvs->v[kvs->n], err, errlen) != 0)
			return -1;
		kvs->n++;
	}
	return 0;
}

/* The header of o (absent in an error reply) and its error fields. */
static int get_reply(json_object *o, struct etcd_reply *r, char *err, size_t errlen)
{
	json_object *h, *e;

	memset(r, 0, sizeof(*r));
	if (get_obj(o, "header", &h, err, errlen) != 0)
		return -1;
	/* member and cluster IDs are unsigned 64-bit: not read, not needed */
	if (h != NULL && get_i64(h, "revision", &r->revision, err, errlen) != 0)
		return -1;
	if (json_object_object_get_ex(o, "error", &e) && e != NULL) {
		int64_t code;
		if (get_i64(o, "code", &code, err, errlen) != 0)
			return -1;
		/* a stream's error is an object: {"error": {"grpc_code": ..}} */
		if (json_object_is_type(e, json_type_object)) {
			if (get_i64(e, "grpc_code", &code, err, errlen) != 0 ||
			    get_str(e, "message", r->error, sizeof(r->error), err, errlen) != 0)
				return -1;
		} else if (get_str(o, "error", r->error, sizeof(r->error), err, errlen) != 0) {
			return -1;
		}
		r->code = code > 0 && code < 100 ? (int)code : ETCD_UNAVAILABLE;
		if (r->error[0] == '\0')
			snprintf(r->error, sizeof(r->error), "error code %d", r->code);
	}
	return 0;
}

int etcd_parse_reply(const char *body, size_t len, struct etcd_reply *r, char *err, size_t errlen)
{
	json_object *o = parse(body, len, err, errlen);
	int rc;

	if (o == NULL)
		return -1;
	rc = get_reply(o, r, err, errlen);
	json_object_put(o);
	return rc;
}

int etcd_parse_lease_grant(const char *body, size_t len, struct etcd_reply *r, int64_t *id, int64_t *ttl,
			   char *err, size_t errlen)
{
	json_object *o = parse(body, len, err, errlen);
	char why[ETCD_ERR_MAX];
	int rc = -1;

	*id = *ttl = 0;
	if (o == NULL)
		return -1;
	if (get_reply(o, r, err, errlen) == 0 && get_i64(o, "ID", id, err, errlen) == 0 &&
	    get_i64(o, "TTL", ttl, err, errlen) == 0 && get_str(o, "error", why, sizeof(why), err, errlen) == 0) {
		rc = 0;
		if (r->code == ETCD_OK && why[0] != '\0') {
			/* a grant refused: the reason in "error" */
			r->code = ETCD_UNAVAILABLE;
			snprintf(r->error, sizeof(r->error), "%s", why);
		}
		if (r->code == ETCD_OK && (*id == 0 || *ttl <= 0))
			rc = fail(err, errlen, "lease grant without an ID or a TTL");
	}
	json_object_put(o);
	return rc;
}

int etcd_parse_keepalive(const char *body, size_t len, struct etcd_reply *r, int64_t *ttl, char *err,
			 size_t errlen)
{
	json_object *o = parse(body, len, err, errlen), *res;
	int rc = -1;

	*ttl = 0;
	if (o == NULL)
		return -1;
	if (get_reply(o, r, err, errlen) == 0 && get_obj(o, "result", &res, err, errlen) == 0) {
		if (res == NULL)
			rc = r->code != ETCD_OK ? 0 : fail(err, errlen, "keep-alive reply without a result");
		else if (get_reply(res, r, err, errlen) == 0 && get_i64(res, "TTL", ttl, err, errlen) == 0)
			rc = 0;
	}
	json_object_put(o);
	return rc;
}

int etcd_parse_range(const char *body, size_t len, struct etcd_reply *r, struct etcd_kvs *kvs, char *err,
		     size_t errlen)
{
	json_object *o = parse(body, len, err, errlen);
	int rc = -1;

	kvs->v = NULL;
	kvs->n = 0;
	if (o == NULL)
		return -1;
	if (get_reply(o, r, err, errlen) == 0 && get_kvs(o, "kvs", kvs, err, errlen) == 0)
		rc = 0;
	else
		etcd_kvs_free(kvs);
	json_object_put(o);
	return rc;
}

int etcd_parse_txn(const char *body, size_t len, struct etcd_reply *r, int *succeeded, struct etcd_kvs *kvs,
		   char *err, size_t errlen)
{
	json_object *o = parse(body, len, err, errlen), *a;
	int rc = -1;

	*succeeded = 0;
	kvs->v = NULL;
	kvs->n = 0;
	if (o == NULL)
		return -1;
	if (get_reply(o, r, err, errlen) != 0 || get_bool(o, "succeeded", succeeded, err, errlen) != 0)
		goto out;
	if (json_object_object_get_ex(o, "responses", &a) && a != NULL) {
		if (!json_object_is_type(a, json_type_array)) {
			fail(err, errlen, "responses: not an array");
			goto out;
		}
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			json_object *e = json_object_array_get_idx(a, i), *rr;
			if (e == NULL || !json_object_is_type(e, json_type_object)) {
				fail(err, errlen, "responses[%zu]: not an object", i);
				goto out;
			}
			if (get_obj(e, "response_range", &rr, err, errlen) != 0 ||
			    (rr != NULL && get_kvs(rr, "kvs", kvs, err, errlen) != 0))
				goto out;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		etcd_kvs_free(kvs);
	json_object_put(o);
	return rc;
}

void etcd_watch_msg_free(struct etcd_watch_msg *w)
{
	for (size_t i = 0; i < w->nev; i++) {
		kv_free(&w->ev[i].kv);
		kv_free(&w->ev[i].prev);
	}
	free(w->ev);
	w->ev = NULL;
	w->nev = 0;
}

static int get_event(json_object *e, struct etcd_event *ev, char *err, size_t errlen)
{
	json_object *kv, *prev;
	char type[16];

	memset(ev, 0, sizeof(*ev));
	if (!json_object_is_type(e, json_type_object))
		return fail(err, errlen, "event: not an object");
	if (get_str(e, "type", type, sizeof(type), err, errlen) != 0 || get_obj(e, "kv", &kv, err, errlen) != 0 ||
	    get_obj(e, "prev_kv", &prev, err, errlen) != 0)
		return -1;
	if (type[0] == '\0' || strcmp(type, "PUT") == 0)
		ev->type = ETCD_EV_PUT;
	else if (strcmp(type, "DELETE") == 0)
		ev->type = ETCD_EV_DELETE;
	else
		return fail(err, errlen, "event type %.20s unknown", type);
	if (kv == NULL)
		return fail(err, errlen, "event without a kv");
	if (get_kv(kv, &ev->kv, err, errlen) != 0)
		return -1;
	if (prev != NULL && get_kv(prev, &ev->prev, err, errlen) != 0) {
		kv_free(&ev->kv);
		return -1;
	}
	return 0;
}

int etcd_parse_watch(const char *line, size_t len, struct etcd_watch_msg *w, char *err, size_t errlen)
{
	json_object *o = parse(line, len, err, errlen), *res, *a;
	int rc = -1;

	memset(w, 0, sizeof(*w));
	if (o == NULL)
		return -1;
	if (get_reply(o, &w->r, err, errlen) != 0 || get_obj(o, "result", &res, err, errlen) != 0)
		goto out;
	if (res == NULL) {
		rc = w->r.code != ETCD_OK ? 0 : fail(err, errlen, "watch line without a result");
		goto out;
	}
	if (get_reply(res, &w->r, err, errlen) != 0 || get_i64(res, "watch_id", &w->watch_id, err, errlen) != 0 ||
	    get_bool(res, "created", &w->created, err, errlen) != 0 ||
	    get_bool(res, "canceled", &w->canceled, err, errlen) != 0 ||
	    get_i64(res, "compact_revision", &w->compact_revision, err, errlen) != 0 ||
	    get_str(res, "cancel_reason", w->cancel_reason, sizeof(w->cancel_reason), err, errlen) != 0)
		goto out;
	if (json_object_object_get_ex(res, "events", &a) && a != NULL) {
		size_t n;
		if (!json_object_is_type(a, json_type_array)) {
			fail(err, errlen, "events: not an array");
			goto out;
		}
		n = json_object_array_length(a);
		if (n > 0 && (w->ev = calloc(n, sizeof(*w->ev))) == NULL) {
			fail(err, errlen, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (get_event(json_object_array_get_idx(a, i), &w->ev[i], err, errlen) != 0)
				goto out;
			w->nev++;
		}
	}
	rc = 0;
out:
	if (rc != 0)
		etcd_watch_msg_free(w);
	json_object_put(o);
	return rc;
}

int etcd_parse_auth(const char *body, size_t len, struct etcd_reply *r, char *token, size_t tokenlen,
		    char *err, size_t errlen)
{
	json_object *o = parse(body, len, err, errlen), *v;
	int rc = -1;

	token[0] = '\0';
	if (o == NULL)
		return -1;
	if (get_reply(o, r, err, errlen) != 0)
		goto out;
	if (r->code != ETCD_OK) {
		rc = 0;
		goto out;
	}
	if (!json_object_object_get_ex(o, "token", &v) || v == NULL || !json_object_is_type(v, json_type_string)) {
		fail(err, errlen, "no token in the reply");
		goto out;
	}
	if ((size_t)json_object_get_string_len(v) >= tokenlen) {
		fail(err, errlen, "token longer than %zu bytes", tokenlen - 1);
		goto out;
	}
	snprintf(token, tokenlen, "%s", json_object_get_string(v));
	rc = 0;
out:
	json_object_put(o);
	return rc;
}
