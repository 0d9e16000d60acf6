/*
 * Java .properties parsing, following the rules of java.util.Properties.load:
 * a logical line is made of natural lines joined where one ends in an odd
 * number of backslashes; the key ends at the first unescaped '=', ':' or
 * blank; escapes are decoded in keys and values alike.
 */
#include "props.h"

#include <stdlib.h>
#include <string.h>

struct sbuf {
	char *p;
	size_t n, cap;
};

static int sbuf_put(struct sbuf *b, char c)
{
	if (b->n + 1 >= b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		char *p = realloc(b->p, cap);
		if (p == NULL)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	b->p[b->n++] = c;
	b->p[b->n] = '\0';
	return 0;
}

static int sbuf_put_utf8(struct sbuf *b, unsigned cp)
{
	int r = 0;

	if (cp < 0x80) {
		r |= sbuf_put(b, (char)cp);
	} else if (cp < 0x800) {
		r |= sbuf_put(b, (char)(0xc0 | (cp >> 6)));
		r |= sbuf_put(b, (char)(0x80 | (cp & 0x3f)));
	} else {
		r |= sbuf_put(b, (char)(0xe0 | (cp >> 12)));
		r |= sbuf_put(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		r |= sbuf_put(b, (char)(0x80 | (cp & 0x3f)));
	}
	return r;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\f'; }

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Joins the natural lines of one logical line into `out`, raw (escapes kept,
 * continuation backslash and the next line's leading blanks dropped).
 * Returns the position after the logical line; *lines counts natural lines.
 */
static size_t logical_line(const char *buf, size_t len, size_t pos, struct sbuf *out, int *lines)
{
	out->n = 0;
	if (out->p)
		out->p[0] = '\0';
	*lines = 0;
	for (;;) {
		size_t start = pos, end, nbs = 0;

		while (pos < len && buf[pos] != '\n' && buf[pos] != '\r')
			pos++;
		end = pos;
		if (pos < len && buf[pos] == '\r')
			pos++;
		if (pos < len && buf[pos] == '\n')
			pos++;
		(*lines)++;
		while (nbs < end - start && buf[end - 1 - nbs] == '\\')
			nbs++;
		if (nbs % 2 == 1)
			end--; /* drop the continuation backslash */
		for (size_t i = start; i < end; i++)
			if (sbuf_put(out, buf[i]) != 0)
				return (size_t)-1;
		if (nbs % 2 == 0 || pos >= len)
			return pos;
		while (pos < len && is_blank(buf[pos]))
			pos++;
	}
}

/* Decodes escapes of raw[*i..] into out until a terminator (when key). */
static int decode(const char *raw, size_t *i, struct sbuf *out, int key)
{
	size_t n = strlen(raw);

	while (*i < n) {
		char c = raw[*i];

		if (key && (c == '=' || c == ':' || is_blank(c)))
			return 0;
		(*i)++;
		if (c != '\\') {
			if (sbuf_put(out, c) != 0)
				return -1;
			continue;
		}
		if (*i >= n)
			break;
		c = raw[(*i)++];
		switch (c) {
		case 't': c = '\t'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 'f': c = '\f'; break;
		case 'u': {
			unsigned cp = 0;
			int k;
			for (k = 0; k < 4 && *i < n && hexval(raw[*i]) >= 0; k++)
				cp = cp * 16 + (unsigned)hexval(raw[(*i)++]);
			if (sbuf_put_utf8(out, cp) != 0)
				return -1;
			continue;
		}
		default: break;
		}
		if (sbuf_put(out, c) != 0)
			return -1;
	}
	return 0;
}

int props_parse(const char *buf, size_t len, props_cb cb, void *ud)
{
	struct sbuf raw = {0}, key = {0}, val = {0};
	size_t pos = 0;
	int line = 1, rc = 0;

	while (pos < len) {
		int start_line = line, nlines;
		size_t i = 0;

		pos = logical_line(buf, len, pos, &raw, &nlines);
		if (pos == (size_t)-1) {
			rc = -1;
			break;
		}
		line += nlines;
		if (raw.n == 0)
			continue;
		while (i < raw.n && is_blank(raw.p[i]))
			i++;
		if (i == raw.n || raw.p[i] == '#' || raw.p[i] == '!')
			continue;
		key.n = val.n = 0;
		if (sbuf_put(&key, '\0') != 0 || sbuf_put(&val, '\0') != 0) {
			rc = -1;
			break;
		}
		key.n = val.n = 0;
		if (decode(raw.p, &i, &key, 1) != 0) {
			rc = -1;
			break;
		}
		while (i < raw.n && is_blank(raw.p[i]))
			i++;
		if (i < raw.n && (raw.p[i] == '=' || raw.p[i] == ':'))
			i++;
		while (i < raw.n && is_blank(raw.p[i]))
			i++;
		if (decode(raw.p, &i, &val, 0) != 0) {
			rc = -1;
			break;
		}
		rc = cb(ud, key.p, val.p, start_line);
		if (rc != 0)
			break;
	}
	free(raw.p);
	free(key.p);
	free(val.p);
	return rc;
}
