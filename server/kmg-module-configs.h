/* kmg-module-configs.h — each module's own config struct, filled from the one KmgConfig.
 * The composition root hands these to the module constructors; modules never see KmgConfig. */
#pragma once

#include "kmg-accounts.h"
#include "kmg-billing-types.h"
#include "kmg-config.h"
#include "kmg-listener.h"
#include "kmg-map.h"
#include "kmg-relay.h"
#include "kmg-session-manager.h"
#include "kmg-signaling.h"

G_BEGIN_DECLS

void kmg_module_config_accounts (const KmgConfig *c, KmgAccountsConfig *out);
void kmg_module_config_map (const KmgConfig *c, KmgMapConfig *out);
/* @out borrows strings of @c (allowed origins). */
void kmg_module_config_signaling (const KmgConfig *c, KmgMetrics *metrics, KmgSignalingConfig *out);
void kmg_module_config_billing (const KmgConfig *c, KmgBillingRules *out);
/* @out borrows strings of @c (denied CIDRs). */
void kmg_module_config_sessions (const KmgConfig *c, KmgSessionConfig *out);
KmgRelayConfig *kmg_module_config_relay (const KmgConfig *c);
void kmg_module_config_listener (const KmgConfig *c, KmgListenerLimits *out);

G_END_DECLS
