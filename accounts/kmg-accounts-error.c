/* kmg-accounts-error.c — the accounts error quark, on its own so pure files (and fuzz targets)
 * can use the error domain without linking the stateful part of the module. */

#include "kmg-accounts-error.h"

G_DEFINE_QUARK (kmg-accounts-error-quark, kmg_accounts_error)
