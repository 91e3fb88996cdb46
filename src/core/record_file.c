/*
 * record_file.c - streaming reader for record files (JSON Lines or one JSON
 * array), the one-record loader, and durable appends.
 *
 * The reader holds one input chunk and one record's text, never more, so a
 * chain of millions of records verifies in constant memory, and a hostile
 * file (a 10 MB line, an endless array) costs at most one line's worth of
 * buffer before it is refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edgesentry/record_file.h"
#include "internal.h"
#include "record_internal.h"

#define CHUNK       65536
#define EDS_STR2(x) #x
#define EDS_STR(x)  EDS_STR2(x)

enum mode { MODE_UNKNOWN, MODE_LINES, MODE_ARRAY };
enum array_state { ARR_FIRST, ARR_AFTER, ARR_END };

struct eds_record_reader {
	int fd;
	int own_fd;
	enum mode mode;
	enum array_state arr;
	int failed;
	int eof;
	char *path;
	uint8_t *buf; /* input chunk: buf[pos..end) not consumed yet */
	size_t pos, end;
	char *text; /* the current record's text */
	size_t text_len;
	uint64_t line; /* 1-based line of the next unconsumed byte */
	uint64_t rec_line, index, count, offset, size;
};

static int is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Refill the chunk.  EDS_OK with rd->eof set at the end of the input. */
static eds_status fill(eds_record_reader *rd)
{
	ssize_t n;
	do
		n = read(rd->fd, rd->buf, CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return eds_fail(EDS_E_IO, "read: %s", strerror(errno));
	rd->pos = 0;
	rd->end = (size_t)n;
	rd->eof = n == 0;
	return EDS_OK;
}

/* Next byte without consuming it: 0..255, -1 at the end, -2 on a read error. */
static int peek(eds_record_reader *rd)
{
	if (rd->pos == rd->end && (rd->eof || fill(rd) != EDS_OK))
		return rd->eof ? -1 : -2;
	return rd->pos == rd->end ? -1 : rd->buf[rd->pos];
}

static void consume(eds_record_reader *rd, size_t n)
{
	for (size_t i = 0; i < n; i++)
		rd->line += rd->buf[rd->pos + i] == '\n';
	rd->pos += n;
	rd->offset += n;
}

/* Skip whitespace; returns the first other byte (not consumed), -1 or -2. */
static int skip_ws(eds_record_reader *rd)
{
	int c;
	while ((c = peek(rd)) >= 0 && is_ws(c))
		consume(rd, 1);
	return c;
}

/* Fail with the detail prefixed "PATH:LINE: "; the reader stops for good. */
static eds_status fail_at(eds_record_reader *rd, uint64_t line, eds_status st)
{
	rd->failed = 1;
	return eds_fail_prefix(st, "%s:%llu", rd->path, (unsigned long long)line);
}

static eds_status fail_msg(eds_record_reader *rd, uint64_t line, eds_status st, const char *msg)
{
	eds_fail(st, "%s", msg);
	return fail_at(rd, line, st);
}

/*
 * Read one line (without its '\n') into rd->text.  EDS_DONE at the end of
 * the input.  A line over the limit is refused as soon as that is known,
 * without reading the rest of it.
 */
static eds_status read_line(eds_record_reader *rd)
{
	rd->text_len = 0;
	rd->rec_line = rd->line;
	for (;;) {
		int c = peek(rd);
		if (c == -2)
			return fail_at(rd, rd->line, EDS_E_IO);
		if (c == -1)
			return rd->text_len > 0 ? EDS_OK : EDS_DONE;
		const uint8_t *start = rd->buf + rd->pos;
		const uint8_t *nl = memchr(start, '\n', rd->end - rd->pos);
		size_t n = nl != NULL ? (size_t)(nl - start) : rd->end - rd->pos;
		/* One byte of slack for the '\r' of a CRLF line. */
		if (rd->text_len + n > EDS_RECORD_LINE_MAX + 1)
			return fail_msg(rd, rd->rec_line, EDS_E_LIMIT,
			                "line longer than " EDS_STR(EDS_RECORD_LINE_MAX) " bytes");
		memcpy(rd->text + rd->text_len, start, n);
		rd->text_len += n;
		consume(rd, nl != NULL ? n + 1 : n);
		if (nl != NULL)
			return EDS_OK;
	}
}

static int is_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!is_ws((unsigned char)s[i]))
			return 0;
	return 1;
}

static eds_status next_line_record(eds_record_reader *rd, eds_record *r, uint8_t *hash)
{
	eds_status st;
	do {
		if ((st = read_line(rd)) != EDS_OK)
			return st;
		if (rd->text_len > 0 && rd->text[rd->text_len - 1] == '\r')
			rd->text_len--;
		if (rd->text_len > EDS_RECORD_LINE_MAX)
			return fail_msg(rd, rd->rec_line, EDS_E_LIMIT,
			                "line longer than " EDS_STR(EDS_RECORD_LINE_MAX) " bytes");
	} while (is_blank(rd->text, rd->text_len));
	if ((st = eds_record_from_json_hashed(r, rd->text, rd->text_len, hash)) != EDS_OK)
		return fail_at(rd, rd->rec_line, st);
	return EDS_OK;
}

/*
 * Cut one top-level array element (starting at '{') into rd->text, leaving
 * out whitespace outside strings so a pretty-printed record becomes compact
 * JSON.  Tracks strings and escapes so brackets inside strings don't count.
 */
static eds_status cut_element(eds_record_reader *rd)
{
	size_t raw = 0;
	unsigned long depth = 0;
	int in_string = 0, escaped = 0;
	rd->text_len = 0;
	rd->rec_line = rd->line;
	do {
		int c = peek(rd);
		if (c == -2)
			return fail_at(rd, rd->line, EDS_E_IO);
		if (c == -1)
			return fail_msg(rd, rd->rec_line, EDS_E_MALFORMED,
			                "truncated: the record starting here is not closed");
		if (++raw > EDS_RECORD_LINE_MAX)
			return fail_msg(
			    rd, rd->rec_line, EDS_E_LIMIT,
			    "array element longer than " EDS_STR(EDS_RECORD_LINE_MAX) " bytes");
		consume(rd, 1);
		if (in_string) {
			in_string = escaped || c != '"';
			escaped = !escaped && c == '\\';
		} else if (c == '"') {
			in_string = 1;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (is_ws(c)) {
			continue;
		}
		rd->text[rd->text_len++] = (char)c;
	} while (depth > 0);
	return EDS_OK;
}

/* After the closing ']' only whitespace may follow. */
static eds_status array_end(eds_record_reader *rd)
{
	int c = skip_ws(rd);
	rd->arr = ARR_END;
	if (c == -2)
		return fail_at(rd, rd->line, EDS_E_IO);
	if (c != -1)
		return fail_msg(rd, rd->line, EDS_E_MALFORMED, "unexpected data after the array");
	return EDS_DONE;
}

/* Position the reader at the next element's '{', or finish the array. */
static eds_status array_advance(eds_record_reader *rd)
{
	int c = skip_ws(rd);
	if (c == -2)
		return fail_at(rd, rd->line, EDS_E_IO);
	if (c == -1)
		return fail_msg(rd, rd->line, EDS_E_MALFORMED,
		                "truncated: the array is not closed with ']'");
	if (c == ']') {
		consume(rd, 1);
		return array_end(rd);
	}
	if (rd->arr == ARR_AFTER) {
		if (c != ',')
			return fail_msg(rd, rd->line, EDS_E_MALFORMED,
			                "expected ',' or ']' after a record");
		consume(rd, 1);
		c = skip_ws(rd);
		if (c == -1)
			return fail_msg(rd, rd->line, EDS_E_MALFORMED,
			                "truncated: the array is not closed with ']'");
	}
	if (c != '{')
		return fail_msg(rd, rd->line, EDS_E_MALFORMED,
		                "expected a record (a JSON object) in the array");
	return EDS_OK;
}

static eds_status next_array_record(eds_record_reader *rd, eds_record *r, uint8_t *hash)
{
	eds_status st;
	if (rd->arr == ARR_END)
		return EDS_DONE;
	if ((st = array_advance(rd)) != EDS_OK || (st = cut_element(rd)) != EDS_OK)
		return st;
	rd->arr = ARR_AFTER;
	if ((st = eds_record_from_json_hashed(r, rd->text, rd->text_len, hash)) != EDS_OK)
		return fail_at(rd, rd->rec_line, st);
	return EDS_OK;
}

/* The first non-blank byte decides the form: '[' is an array, anything else JSON Lines. */
static eds_status detect_mode(eds_record_reader *rd)
{
	int c = skip_ws(rd);
	if (c == -2)
		return fail_at(rd, rd->line, EDS_E_IO);
	rd->mode = MODE_LINES;
	if (c == '[') {
		consume(rd, 1);
		rd->mode = MODE_ARRAY;
		rd->arr = ARR_FIRST;
	}
	return EDS_OK;
}

eds_status eds_record_reader_next_hashed(eds_record_reader *rd, eds_record *r, uint8_t *hash)
{
	eds_status st;
	if (rd == NULL || r == NULL)
		return eds_fail(EDS_E_ARG, "record reader: NULL argument");
	if (rd->failed)
		return eds_fail(EDS_E_ARG, "%s: reader stopped at an earlier error", rd->path);
	if (rd->mode == MODE_UNKNOWN && (st = detect_mode(rd)) != EDS_OK)
		return st;
	st =
	    rd->mode == MODE_ARRAY ? next_array_record(rd, r, hash) : next_line_record(rd, r, hash);
	if (st == EDS_OK)
		rd->index = rd->count++;
	return st;
}

eds_status eds_record_reader_next(eds_record_reader *rd, eds_record *r)
{
	return eds_record_reader_next_hashed(rd, r, NULL);
}

eds_status eds_record_reader_open(eds_record_reader **out, const char *path)
{
	struct stat sb;
	if (out == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "record reader: NULL argument");
	*out = NULL;
	int is_stdin = strcmp(path, "-") == 0;
	int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return eds_fail(errno == ENOENT ? EDS_E_NOT_FOUND : EDS_E_IO, "%s: %s", path,
		                strerror(errno));
	if (fstat(fd, &sb) != 0 || S_ISDIR(sb.st_mode)) {
		eds_status st = eds_fail(EDS_E_IO, "%s: %s", path,
		                         S_ISDIR(sb.st_mode) ? "is a directory" : strerror(errno));
		if (!is_stdin)
			close(fd);
		return st;
	}
	eds_record_reader *rd = calloc(1, sizeof *rd);
	if (rd != NULL) {
		rd->path = strdup(is_stdin ? "<stdin>" : path);
		rd->buf = malloc(CHUNK);
		rd->text = malloc(EDS_RECORD_LINE_MAX + 2);
	}
	if (rd == NULL || rd->path == NULL || rd->buf == NULL || rd->text == NULL) {
		if (!is_stdin)
			close(fd);
		eds_record_reader_close(rd);
		return eds_fail(EDS_E_NOMEM, "%s: out of memory", path);
	}
	rd->fd = fd;
	rd->own_fd = !is_stdin;
	rd->line = 1;
	rd->size = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
	*out = rd;
	return EDS_OK;
}

uint64_t eds_record_reader_index(const eds_record_reader *rd)
{
	return rd != NULL ? rd->index : 0;
}

uint64_t eds_record_reader_line(const eds_record_reader *rd)
{
	return rd != NULL ? rd->rec_line : 0;
}

uint64_t eds_record_reader_offset(const eds_record_reader *rd)
{
	return rd != NULL ? rd->offset : 0;
}

uint64_t eds_record_reader_size(const eds_record_reader *rd)
{
	return rd != NULL ? rd->size : 0;
}

int eds_record_reader_is_array(const eds_record_reader *rd)
{
	return rd != NULL && rd->mode == MODE_ARRAY;
}

void eds_record_reader_close(eds_record_reader *rd)
{
	if (rd == NULL)
		return;
	if (rd->own_fd)
		close(rd->fd);
	free(rd->path);
	free(rd->buf);
	free(rd->text);
	free(rd);
}

/* Whole standard input, at most max bytes (eds_read_file wants a regular file). */
static eds_status read_stdin(size_t max, char **out, size_t *len)
{
	size_t n = 0;
	char *buf = malloc(max + 2);
	if (buf == NULL)
		return eds_fail(EDS_E_NOMEM, "<stdin>: out of memory");
	for (;;) {
		ssize_t got = read(STDIN_FILENO, buf + n, max + 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return eds_fail(EDS_E_IO, "<stdin>: %s", strerror(errno));
		}
		n += (size_t)got;
		if (got == 0 || n > max)
			break;
	}
	if (n > max) {
		free(buf);
		return eds_fail(EDS_E_LIMIT, "<stdin>: more than %zu bytes", max);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return EDS_OK;
}

static eds_status record_from_document(eds_record *r, const json_t *root)
{
	if (!json_is_array(root))
		return eds_record_from_jansson(r, root);
	if (json_array_size(root) != 1)
		return eds_fail(EDS_E_MALFORMED, "an array of %zu records, expected exactly one",
		                json_array_size(root));
	return eds_record_from_jansson(r, json_array_get(root, 0));
}

eds_status eds_record_load(eds_record *r, const char *path)
{
	char *text;
	size_t len;
	eds_status st;
	if (r == NULL || path == NULL)
		return eds_fail(EDS_E_ARG, "record load: NULL argument");
	int is_stdin = strcmp(path, "-") == 0;
	const char *shown = is_stdin ? "<stdin>" : path;
	st = is_stdin ? read_stdin(EDS_RECORD_LINE_MAX, &text, &len)
	              : eds_read_file(path, EDS_RECORD_LINE_MAX, &text, &len);
	if (st != EDS_OK)
		return st;
	json_t *root = eds_json_load_strict(text, len, &st);
	free(text);
	if (root == NULL)
		return eds_fail_prefix(st, "%s", shown);
	st = record_from_document(r, root);
	json_decref(root);
	return st == EDS_OK ? st : eds_fail_prefix(st, "%s", shown);
}

/* Whether a non-empty file's last byte is a newline (so appending needs none). */
static eds_status ends_with_newline(int fd, off_t size, const char *path, int *yes)
{
	char last;
	*yes = 1;
	if (size == 0)
		return EDS_OK;
	if (pread(fd, &last, 1, size - 1) != 1)
		return eds_fail(EDS_E_IO, "%s: cannot read its last byte: %s", path,
		                strerror(errno));
	*yes = last == '\n';
	return EDS_OK;
}

eds_status eds_record_append(const char *path, const eds_record *r)
{
	/* '\n' + record + '\n': the leading one only when the file lacks it. */
	char line[EDS_RECORD_JSON_MAX + 2];
	size_t len;
	struct stat sb;
	int has_nl;
	if (path == NULL || r == NULL)
		return eds_fail(EDS_E_ARG, "record append: NULL argument");
	eds_status st = eds_record_to_json(r, line + 1, sizeof line - 2, &len);
	if (st != EDS_OK)
		return st;
	line[0] = '\n';
	line[len + 1] = '\n';
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0)
		st = eds_fail(EDS_E_IO, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		st = eds_fail(EDS_E_IO, "%s: not a regular file", path);
	if (st == EDS_OK)
		st = ends_with_newline(fd, sb.st_size, path, &has_nl);
	/* One write call, so a concurrent O_APPEND writer cannot interleave inside it. */
	if (st == EDS_OK)
		st = eds_write_all(fd, has_nl ? line + 1 : line, has_nl ? len + 1 : len + 2, path);
	if (st == EDS_OK && fsync(fd) != 0)
		st = eds_fail(EDS_E_IO, "fsync %s: %s", path, strerror(errno));
	close(fd);
	/* A new (or empty) file's directory entry must reach the disk too. */
	if (st == EDS_OK && sb.st_size == 0)
		st = eds_fsync_dir_of(path);
	return st;
}
