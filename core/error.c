/* error.c — the error domain of libfunad, and its one-line rule. */
#include "funad-private.h"

G_DEFINE_QUARK (funad-error-quark, funad_error)

void
funad_error_one_line (GError **error)
{
  if (!error || !*error)
    return;
  for (char *c = (*error)->message; *c; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      *c = ' ';
}
