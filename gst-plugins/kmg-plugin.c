/* kmg-plugin.c — the "kamegor" GStreamer plugin entry point.
 * Registers the elements built in this folder. */
#include "kmg-meter.h"

#define PACKAGE "kamegor"
#define VERSION "0.1.0"

static gboolean
plugin_init (GstPlugin *plugin)
{
  return GST_ELEMENT_REGISTER (kamegormeter, plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, kamegor,
    "Kamegor relay elements", plugin_init, VERSION, "Proprietary", "kamegor", "https://kamegor.invalid")
