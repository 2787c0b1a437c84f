/* kmg-logging.h — structured log output for kamegord: one line per record, level-filtered. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Installs the writer. @level: error, critical, warning, message, info or debug. */
void kmg_logging_init (const char *level);

G_END_DECLS
