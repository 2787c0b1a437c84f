/* kmg-meter.h — the kamegormeter element: counts forwarded RTP per wall-clock second
 * and can drop everything at once when a watch session ends. */
#pragma once

#include <gst/base/gstbasetransform.h>

G_BEGIN_DECLS

#define KMG_TYPE_METER (kmg_meter_get_type ())
G_DECLARE_FINAL_TYPE (KmgMeter, kmg_meter, KMG, METER, GstBaseTransform)

/* Name of the element message posted once per second with media. */
#define KMG_METER_MESSAGE_NAME "kamegor-meter"

typedef enum
{
  KMG_METER_CLOCK_REALTIME,
  KMG_METER_CLOCK_PIPELINE,
} KmgMeterClockMode;

GType kmg_meter_clock_mode_get_type (void);
#define KMG_TYPE_METER_CLOCK_MODE (kmg_meter_clock_mode_get_type ())

GST_ELEMENT_REGISTER_DECLARE (kamegormeter);

/* Registers kamegormeter for this process unless a plugin already provides it. */
gboolean kmg_meter_register_static (void);

G_END_DECLS
