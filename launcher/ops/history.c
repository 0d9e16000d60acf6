/*
 * The failover history's ring, line format and outputs (see history.h).
 */
#include "history.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const kind_names[HISTORY_KIND_COUNT] = {"role", "handover", "health", "fence", "pause"};

const char *history_kind_name(enum history_kind k)
{
	return (unsigned)k < HISTORY_KIND_COUNT ? kind_names[k] : "?";
}

void history_init(struct history *h, size_t cap)
{
	h->cap = cap == 0 || cap > HISTORY_MAX ? HISTORY_MAX : cap;
	h->head = 0;
	h->n = 0;
}

/* Copies at most max bytes of s, never ending inside a UTF-8 sequence
 * that was whole in s (a cut reason stays valid text). */
static void copy_cut(char *dst, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

void history_add(struct history *h, uint64_t wall_ms, uint64_t term, enum history_kind kind, const char *node,
		 const char *reason)
{
	struct history_entry *e;

	if (h->n == h->cap) {
		h->head = (h->head + 1) % h->cap;
		h->n--;
	}
	e = &h->e[(h->head + h->n++) % h->cap];
	e->wall_ms = wall_ms;
	e->term = term;
	e->kind = kind;
	copy_cut(e->node, node != NULL ? node : "", HISTORY_NODE_MAX);
	copy_cut(e->reason, reason != NULL ? reason : "", HISTORY_REASON_MAX);
}

const struct history_entry *history_at(const struct history *h, size_t i)
{
	return i < h->n ? &h->e[(h->head + i) % h->cap] : NULL;
}

size_t history_escape(const char *s, int blanks, char *out, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (len == 0)
		return 0;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char tmp[4];
		size_t k = 0;

		if (c == '\\' || c == '\n' || c == '\r' || c == '\t' || (blanks && c == ' ')) {
			tmp[k++] = '\\';
			tmp[k++] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : 's';
		} else if (c < 0x20 || c == 0x7f) {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		} else
			tmp[k++] = (char)c;
		if (o + k >= len)
			break; /* cut whole: never half an escape */
		memcpy(out + o, tmp, k);
		o += k;
	}
	out[o] = '\0';
	return o;
}

size_t history_encode(const struct history_entry *e, char *out, size_t len)
{
	char node[4 * HISTORY_NODE_MAX + 1], reason[4 * HISTORY_REASON_MAX + 1];
	int n;

	history_escape(e->node, 1, node, sizeof(node));
	history_escape(e->reason, 0, reason, sizeof(reason));
	n = snprintf(out, len, "h1 %llu %llu %s %s %s\n", (unsigned long long)e->wall_ms, (unsigned long long)e->term,
		     history_kind_name(e->kind), node[0] ? node : "-", reason);
	if (n < 0 || (size_t)n >= len)
		return 0;
	return (size_t)n;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Unescapes [s, end) into out (max bytes and the NUL): -1 on a raw
 * control byte, a raw blank when blanks is set, a bad escape, an escaped
 * NUL, or too long. */
static int unescape(const char *s, const char *end, int blanks, char *out, size_t max)
{
	size_t o = 0;

	while (s < end) {
		unsigned char c = (unsigned char)*s++;
		if (c < 0x20 || c == 0x7f || (blanks && c == ' '))
			return -1;
		if (c == '\\') {
			if (s == end)
				return -1;
			switch (*s++) {
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 's': c = ' '; break;
			case 'x': {
				int hi, lo;
				if (end - s < 2 || (hi = hexval(s[0])) < 0 || (lo = hexval(s[1])) < 0)
					return -1;
				c = (unsigned char)(hi << 4 | lo);
				s += 2;
				if (c == 0)
					return -1;
				break;
			}
			default: return -1;
			}
		}
		if (o == max)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* A decimal number up to the next blank: its value, and p past the blank. */
static int number(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (x > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
	}
	if (s == end || *s != ' ')
		return -1;
	*v = x;
	*p = s + 1;
	return 0;
}

int history_decode(const char *line, size_t len, struct history_entry *e)
{
	const char *p = line, *end = line + len, *sp;
	int k;

	if (len > 0 && end[-1] == '\n')
		end--;
	if (end - p < 3 || memcmp(p, "h1 ", 3) != 0)
		return -1;
	p += 3;
	if (number(&p, end, &e->wall_ms) != 0 || number(&p, end, &e->term) != 0)
		return -1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL)
		return -1;
	for (k = 0; k < HISTORY_KIND_COUNT; k++)
		if ((size_t)(sp - p) == strlen(kind_names[k]) && memcmp(p, kind_names[k], (size_t)(sp - p)) == 0)
			break;
	if (k == HISTORY_KIND_COUNT)
		return -1;
	e->kind = (enum history_kind)k;
	p = sp + 1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL || sp == p)
		return -1;
	if (sp - p == 1 && *p == '-')
		e->node[0] = '\0';
	else if (unescape(p, sp, 1, e->node, HISTORY_NODE_MAX) != 0)
		return -1;
	return unescape(sp + 1, end, 0, e->reason, HISTORY_REASON_MAX);
}

size_t history_load(struct history *h, const char *data, size_t len, size_t *lines)
{
	const char *p = data, *end = data + len, *nl;
	struct history_entry e;
	size_t skipped = 0;

	*lines = 0;
	while (p < end) {
		(*lines)++;
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			skipped++; /* torn: the append did not finish */
			break;
		}
		if (history_decode(p, (size_t)(nl + 1 - p), &e) == 0)
			history_add(h, e.wall_ms, e.term, e.kind, e.node, e.reason);
		else
			skipped++;
		p = nl + 1;
	}
	return skipped;
}

static int put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int put(struct buf *b, const char *fmt, ...)
{
	char tmp[HISTORY_LINE_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	return buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, min = 0x80, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, min = 0x800, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* s as a JSON string: quotes, backslashes and control bytes escaped, and
 * bytes that are not UTF-8 replaced (a JSON parser would refuse them). */
static int json_str(struct buf *b, const char *s)
{
	char tmp[4 * HISTORY_REASON_MAX * 2 + 8];
	size_t o = 0;

	tmp[o++] = '"';
	while (*s && o + 12 < sizeof(tmp)) {
		const unsigned char *u = (const unsigned char *)s;
		size_t n;

		if (*u == '"' || *u == '\\') {
			tmp[o++] = '\\';
			tmp[o++] = (char)*u;
			s++;
		} else if (*u < 0x20 || *u == 0x7f) {
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "\\u%04x", *u);
			s++;
		} else if ((n = utf8_len(u)) == 0) {
			o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "\\ufffd");
			s++;
		} else {
			memcpy(tmp + o, s, n);
			o += n;
			s += n;
		}
	}
	tmp[o++] = '"';
	return buf_add(b, tmp, o);
}

static void iso_time(uint64_t wall_ms, char *out, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		snprintf(out, len, "?");
		return;
	}
	snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
}

/* entry E, after SEP, as text or as a JSON object */
static int format_entry(const struct history_entry *e, int json, const char *sep, struct buf *out)
{
	char when[48], node[4 * HISTORY_NODE_MAX + 1], reason[4 * HISTORY_REASON_MAX + 1];
	int rc = 0;

	iso_time(e->wall_ms, when, sizeof(when));
	if (json) {
		rc |= put(out, "%s{\"time\":\"%s\",\"wall_ms\":%llu,\"term\":%llu,\"kind\":\"%s\",\"node\":", sep,
			  when, (unsigned long long)e->wall_ms, (unsigned long long)e->term, history_kind_name(e->kind));
		rc |= json_str(out, e->node);
		rc |= put(out, ",\"reason\":");
		rc |= json_str(out, e->reason);
		rc |= put(out, "}");
		return rc;
	}
	/* the reason last and escaped: one entry is one line */
	history_escape(e->node, 1, node, sizeof(node));
	history_escape(e->reason, 0, reason, sizeof(reason));
	return put(out, "%s  term %llu  %s  %-8s  %s\n", when, (unsigned long long)e->term, node[0] ? node : "-",
		   history_kind_name(e->kind), reason);
}

int history_format(const struct history *h, int json, size_t max, struct buf *out)
{
	size_t first = 0, total = 3; /* "[", "]\n" */
	int rc = 0;

	/* bounded: the newest entries that fit in MAX bytes */
	for (size_t i = h->n; max > 0 && i-- > 0;) {
		struct buf one = {0};
		size_t n;

		if (format_entry(history_at(h, i), json, ",", &one) != 0) {
			buf_free(&one);
			return -1;
		}
		n = one.len - one.off;
		buf_free(&one);
		if (total + n > max) {
			first = i + 1;
			break;
		}
		total += n;
	}
	if (json)
		rc |= put(out, "[");
	for (size_t i = first; i < h->n; i++)
		rc |= format_entry(history_at(h, i), json, i > first ? "," : "", out);
	if (json)
		rc |= put(out, "]\n");
	return rc ? -1 : 0;
}
