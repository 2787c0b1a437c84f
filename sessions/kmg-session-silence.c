/* kmg-session-silence.c — the silent-buyer rule of P2P sessions: a buyer that stops attesting while
 * the seller's own reports show media reaching it leaves P2P (relay, or ended unattested). */

#include "kmg-session-private.h"

gboolean
kmg_session_seller_report_flowing (const KmgSessionSellerStats *prev, gint64 prev_ms,
                                   const KmgSessionSellerStats *cur, gint64 cur_ms)
{
  g_return_val_if_fail (prev != NULL && cur != NULL, FALSE);
  if (cur_ms <= prev_ms || cur_ms - prev_ms > KMG_SESSION_SELLER_REPORT_MAX_GAP_MS)
    return FALSE;
  /* Sending alone proves nothing (packets into a dead network): receiver reports must keep coming
   * back from the buyer, and say that most of it arrives. */
  return cur->packets_sent > prev->packets_sent && cur->bytes_sent > prev->bytes_sent
         && cur->rr_count > prev->rr_count && cur->fraction_lost >= 0.0 && cur->fraction_lost < 0.5;
}

void
kmg_session_silence_clear (KmgSession *s)
{
  s->attested_ms = 0;
  s->silence_deadline = KMG_NO_DEADLINE;
  s->seller_reported = FALSE;
  s->seller_flowing = FALSE;
  s->seller_last = (KmgSessionSellerStats){ 0 };
  s->seller_last_ms = 0;
}

static gboolean
applies (KmgSessionManager *mgr, const KmgSession *s)
{
  return mgr->config.buyer_silence_ms > 0 && s->state == KMG_SESSION_ACTIVE && s->path == KMG_SESSION_PATH_P2P;
}

/* A deadline only while there is something to decide: without the seller's evidence of flowing
 * media a silent buyer is left to the ICE and presence rules. */
static void
arm (KmgSessionManager *mgr, KmgSession *s)
{
  gboolean armed = applies (mgr, s) && s->disconnected == 0 && s->seller_flowing;

  s->silence_deadline = armed ? s->attested_ms + mgr->config.buyer_silence_ms : KMG_NO_DEADLINE;
}

void
kmg_session_silence_restart (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  if (!applies (mgr, s))
    return;
  s->attested_ms = now_ms;
  arm (mgr, s);
}

void
kmg_session_silence_buyer_report (KmgSessionManager *mgr, KmgSession *s, guint attested, gint64 now_ms)
{
  /* A report billing counted nothing from (no new frame, counters reset, too late) is no
   * attestation: a buyer that keeps sending flat counters is as silent as one that sends nothing. */
  if (attested > 0)
    kmg_session_silence_restart (mgr, s, now_ms);
}

/* The buyer has been silent long enough and the seller's latest report, still current, shows media
 * reaching it. Never while a transport is disconnected: the ICE grace owns the session then. */
static gboolean
starved (KmgSessionManager *mgr, const KmgSession *s, gint64 now_ms)
{
  return applies (mgr, s) && s->disconnected == 0 && now_ms - s->attested_ms >= mgr->config.buyer_silence_ms
         && s->seller_flowing && now_ms - s->seller_last_ms <= KMG_SESSION_SELLER_REPORT_MAX_GAP_MS;
}

gboolean
kmg_session_silence_seller_report (KmgSessionManager *mgr, KmgSession *s,
                                   const KmgSessionSellerStats *report, gint64 now_ms)
{
  s->seller_flowing = s->seller_reported
                      && kmg_session_seller_report_flowing (&s->seller_last, s->seller_last_ms, report, now_ms);
  s->seller_last = *report;
  s->seller_last_ms = now_ms;
  s->seller_reported = TRUE;
  arm (mgr, s);
  return starved (mgr, s, now_ms);
}

gboolean
kmg_session_silence_due (KmgSessionManager *mgr, KmgSession *s, gint64 now_ms)
{
  /* Decided once at the deadline; past it, each seller report decides again (and re-arms it). */
  s->silence_deadline = KMG_NO_DEADLINE;
  return starved (mgr, s, now_ms);
}
