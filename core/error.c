/* error.c — the error domain of libfunad. */
#include "funad.h"

G_DEFINE_QUARK (funad-error-quark, funad_error)
