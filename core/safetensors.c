/* safetensors.c — reads a safetensors file (8-byte little-endian header length, a JSON header,
 * raw little-endian tensors): the parser both the model file and pretrained weights use.
 * Nothing in the file is trusted: the header length, the JSON's depth, every tensor's dtype,
 * shape and offsets are checked before any data is touched, and a failure names the file. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include "funad-private.h"

#define MAX_HEADER (16 * 1024 * 1024)
#define MAX_MAGNITUDE 1e15f     /* a tensor value beyond this is corrupt (see the reader) */
#define MAX_JSON_DEPTH 8          /* a funad or timm header is 3 deep */

struct _FunadSafetensors {
  char *path;
  const char *what;     /* "model file", "weights file": starts every message */
  char *contents;
  gsize len;
  JsonParser *parser;
  JsonObject *header;
  const guint8 *data;   /* the data section */
  gsize data_len;
};

void
funad_safetensors_fail (const FunadSafetensors *st, GError **error, int code, const char *fmt,
                        ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, FUNAD_ERROR, code, "%s '%s': %s", st->what, st->path, why);
  g_free (why);
}

/* Nesting depth of JSON text, brackets inside strings ignored. json-glib parses recursively,
 * so a crafted header nested a hundred thousand deep would overflow the stack: measure first. */
static int
json_depth (const char *text, gsize len)
{
  int depth = 0, deepest = 0;
  gboolean in_string = FALSE;
  for (gsize i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '{' || c == '[') {
      depth++;
      deepest = MAX (deepest, depth);
    } else if (c == '}' || c == ']') {
      depth--;
    }
  }
  return deepest;
}

void
funad_safetensors_free (FunadSafetensors *st)
{
  if (!st)
    return;
  if (st->parser)
    g_object_unref (st->parser);
  g_free (st->contents);
  g_free (st->path);
  g_free (st);
}

FunadSafetensors *
funad_safetensors_open (const char *path, const char *what, GError **error)
{
  FunadSafetensors *st = g_new0 (FunadSafetensors, 1);
  st->path = g_strdup (path);
  st->what = what;
  GError *io = NULL;
  /* A model file can name its weights file: a device (/dev/zero) or a FIFO there would be read
   * until memory runs out, or block for ever. Only regular files are read. */
  GStatBuf sb;
  if (g_stat (path, &sb) == 0 && !S_ISREG (sb.st_mode)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot read %s '%s': not a regular file",
                 what, path);
    goto fail;
  }
  if (!g_file_get_contents (path, &st->contents, &st->len, &io)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "cannot read %s '%s': %s", what, path,
                 io->message);
    g_error_free (io);
    goto fail;
  }
  if (st->len < 8) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "too short to be a %s (%"
                            G_GSIZE_FORMAT " bytes)", strcmp (what, "model file") == 0
                            ? "model" : "safetensors file", st->len);
    goto fail;
  }
  guint64 hlen = 0;
  for (int i = 0; i < 8; i++)
    hlen |= (guint64) (guint8) st->contents[i] << (8 * i);
  const char *kind = strcmp (what, "model file") == 0 ? "model" : "safetensors file";
  if (hlen < 2) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "not a %s: its header is empty",
                            kind);
    goto fail;
  }
  if (hlen > st->len - 8) {
    /* Not the length itself: read from another kind of file (a video given as the model) it
     * is a meaningless 17-digit number. */
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "not a %s, or truncated: the "
                            "header length it starts with does not fit its %" G_GSIZE_FORMAT
                            " bytes", kind, st->len);
    goto fail;
  }
  if (hlen > MAX_HEADER) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "header of %" G_GUINT64_FORMAT
                            " bytes is larger than any %s's (16 MiB at most)", hlen, kind);
    goto fail;
  }
  if (json_depth (st->contents + 8, hlen) > MAX_JSON_DEPTH) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "header is nested deeper than a "
                            "model's (%d levels)", MAX_JSON_DEPTH);
    goto fail;
  }
  st->parser = json_parser_new ();
  if (!json_parser_load_from_data (st->parser, st->contents + 8, (gssize) hlen, &io)) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "header is not valid JSON (%s)",
                            io->message);
    g_error_free (io);
    goto fail;
  }
  JsonNode *root = json_parser_get_root (st->parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "header is not a JSON object");
    goto fail;
  }
  st->header = json_node_get_object (root);
  st->data = (const guint8 *) st->contents + 8 + hlen;
  st->data_len = st->len - 8 - hlen;
  return st;

fail:
  funad_safetensors_free (st);
  return NULL;
}

const char *
funad_safetensors_path (const FunadSafetensors *st)
{
  return st->path;
}

gsize
funad_safetensors_size (const FunadSafetensors *st)
{
  return st->len;
}

/* The whole file's SHA-256, as lowercase hex (free with g_free). */
char *
funad_safetensors_sha256 (const FunadSafetensors *st)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) st->contents, st->len);
}

GHashTable *
funad_safetensors_metadata (const FunadSafetensors *st, gboolean *present, GError **error)
{
  JsonNode *node = json_object_get_member (st->header, "__metadata__");
  *present = node != NULL;
  GHashTable *meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!node)
    return meta;
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "__metadata__ is not an object");
    g_hash_table_unref (meta);
    return NULL;
  }
  JsonObject *o = json_node_get_object (node);
  GList *members = json_object_get_members (o);
  for (GList *k = members; k; k = k->next) {
    JsonNode *v = json_object_get_member (o, k->data);
    if (json_node_get_value_type (v) != G_TYPE_STRING) {
      funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "metadata '%s' is not a string",
                              (char *) k->data);
      g_list_free (members);
      g_hash_table_unref (meta);
      return NULL;
    }
    g_hash_table_replace (meta, g_strdup (k->data), g_strdup (json_node_get_string (v)));
  }
  g_list_free (members);
  return meta;
}

guint
funad_safetensors_n_tensors (const FunadSafetensors *st)
{
  return json_object_get_size (st->header) - (json_object_has_member (st->header,
                                                                       "__metadata__") ? 1 : 0);
}

gboolean
funad_safetensors_has (const FunadSafetensors *st, const char *name)
{
  return json_object_has_member (st->header, name);
}

/* A tensor entry of the header, checked against the data section. */
static gboolean
check_entry (JsonNode *node, gsize data_len, const char **why, gint64 *shape, int *ndim,
             gsize *begin)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return *why = "is not an object", FALSE;
  JsonObject *o = json_node_get_object (node);
  JsonNode *dtype = json_object_get_member (o, "dtype");
  JsonNode *shp = json_object_get_member (o, "shape");
  JsonNode *offs = json_object_get_member (o, "data_offsets");
  if (!dtype || json_node_get_value_type (dtype) != G_TYPE_STRING)
    return *why = "has no dtype", FALSE;
  if (strcmp (json_node_get_string (dtype), "F32") != 0)
    return *why = "has a dtype other than F32", FALSE;
  if (!shp || !JSON_NODE_HOLDS_ARRAY (shp) || !offs || !JSON_NODE_HOLDS_ARRAY (offs))
    return *why = "lacks shape or data_offsets", FALSE;
  JsonArray *sa = json_node_get_array (shp), *oa = json_node_get_array (offs);
  if (json_array_get_length (sa) > FUNAD_SAFETENSORS_MAX_DIMS
      || json_array_get_length (oa) != 2)
    return *why = "has a malformed shape or data_offsets", FALSE;
  gsize count = 1;
  *ndim = (int) json_array_get_length (sa);
  for (int i = 0; i < *ndim; i++) {
    JsonNode *d = json_array_get_element (sa, i);
    if (json_node_get_value_type (d) != G_TYPE_INT64 || json_node_get_int (d) < 0
        || json_node_get_int (d) > (1 << 28))
      return *why = "has an invalid dimension", FALSE;
    shape[i] = json_node_get_int (d);
    count *= (gsize) shape[i];
    if (count > data_len)
      return *why = "is larger than the file", FALSE;
  }
  JsonNode *b = json_array_get_element (oa, 0), *e = json_array_get_element (oa, 1);
  if (json_node_get_value_type (b) != G_TYPE_INT64 || json_node_get_value_type (e) != G_TYPE_INT64)
    return *why = "has non-integer data_offsets", FALSE;
  gint64 bo = json_node_get_int (b), eo = json_node_get_int (e);
  if (bo < 0 || eo < bo || (guint64) eo > data_len)
    return *why = "has data_offsets outside the file", FALSE;
  if ((guint64) (eo - bo) != count * 4)
    return *why = "has data_offsets that disagree with its shape", FALSE;
  *begin = (gsize) bo;
  return TRUE;
}

gboolean
funad_safetensors_shape (const FunadSafetensors *st, const char *name, int *ndim,
                         gint64 *shape, GError **error)
{
  JsonNode *node = json_object_get_member (st->header, name);
  if (!node) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' is missing", name);
    return FALSE;
  }
  const char *why = NULL;
  gsize begin;
  if (!check_entry (node, st->data_len, &why, shape, ndim, &begin)) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' %s", name, why);
    return FALSE;
  }
  return TRUE;
}

/* The entry of name, checked and of exactly this shape; its data offset in *begin. */
static gboolean
entry_with_shape (const FunadSafetensors *st, const char *name, int ndim, const gint64 *shape,
                  gsize *begin, GError **error)
{
  gint64 have[FUNAD_SAFETENSORS_MAX_DIMS];
  int have_ndim;
  JsonNode *node = json_object_get_member (st->header, name);
  if (!node) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' is missing", name);
    return FALSE;
  }
  const char *why = NULL;
  if (!check_entry (node, st->data_len, &why, have, &have_ndim, begin)) {
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' %s", name, why);
    return FALSE;
  }
  if (have_ndim != ndim || memcmp (have, shape, ndim * sizeof (gint64)) != 0) {
    GString *want = g_string_new (NULL), *got = g_string_new (NULL);
    for (int i = 0; i < ndim; i++)
      g_string_append_printf (want, "%s%" G_GINT64_FORMAT, i ? "x" : "", shape[i]);
    for (int i = 0; i < have_ndim; i++)
      g_string_append_printf (got, "%s%" G_GINT64_FORMAT, i ? "x" : "", have[i]);
    funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' has the wrong shape "
                            "for this model (%s, expected %s)", name, got->str, want->str);
    g_string_free (want, TRUE);
    g_string_free (got, TRUE);
    return FALSE;
  }
  return TRUE;
}

gboolean
funad_safetensors_check (const FunadSafetensors *st, const char *name, int ndim,
                         const gint64 *shape, GError **error)
{
  gsize begin;
  return entry_with_shape (st, name, ndim, shape, &begin, error);
}

gboolean
funad_safetensors_read (const FunadSafetensors *st, const char *name, int ndim,
                        const gint64 *shape, float *out, GError **error)
{
  gsize begin;
  if (!entry_with_shape (st, name, ndim, shape, &begin, error))
    return FALSE;
  gsize n = 1;
  for (int i = 0; i < ndim; i++)
    n *= (gsize) shape[i];
  for (gsize j = 0; j < n; j++) {
    guint32 bits;
    memcpy (&bits, st->data + begin + 4 * j, 4);
    bits = GUINT32_FROM_LE (bits);
    memcpy (&out[j], &bits, 4);
    if (!isfinite (out[j])) {
      funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' holds a non-finite "
                              "value", name);
      return FALSE;
    }
    /* No weight or feature is anywhere near this; one flipped exponent bit is, and its
     * squares would overflow every distance to infinity. */
    if (fabsf (out[j]) > MAX_MAGNITUDE) {
      funad_safetensors_fail (st, error, FUNAD_ERROR_CORRUPT, "tensor '%s' holds a value of "
                              "magnitude above %g (%g)", name, MAX_MAGNITUDE, out[j]);
      return FALSE;
    }
  }
  return TRUE;
}
