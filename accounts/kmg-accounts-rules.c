/* kmg-accounts-rules.c — pure rules for usernames, passwords and profile text (no I/O).
 * Kept apart from storage so the rules are unit-tested and fuzzed on their own. */

#include "kmg-accounts-rules.h"

#include <string.h>

#include "kmg-accounts-error.h"

/* Names a user could use to impersonate the platform or its staff. Compared on the lowercase key. */
static const char *const reserved_names[] = {
  "admin",   "administrator", "root",     "system",   "sysadmin", "kamegor", "support",
  "help",    "staff",         "moderator", "mod",     "official", "security", "billing",
  "api",     "www",           "web",      "mail",     "postmaster", "abuse", "noreply",
  "no-reply", "null",         "undefined", "anonymous", "operator", "owner",  "me",
  "sellers", "media",         "auth",     "login",    "logout",   "register", "settings",
  NULL,
};

static gboolean
username_char_ok (char c)
{
  return g_ascii_isalnum (c) || c == '_' || c == '.' || c == '-';
}

char *
kmg_username_key (const char *username)
{
  g_return_val_if_fail (username != NULL, NULL);
  return g_ascii_strdown (username, -1);
}

gboolean
kmg_username_is_reserved (const char *username)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (username != NULL, FALSE);
  key = kmg_username_key (username);
  if (g_strv_contains (reserved_names, key))
    return TRUE;
  /* "kamegor_support", "admin-team": anything that starts like the platform is staff-looking. */
  return g_str_has_prefix (key, "kamegor") || g_str_has_prefix (key, "admin");
}

gboolean
kmg_username_check (const char *username, GError **error)
{
  if (!kmg_username_check_format (username, error))
    return FALSE;
  if (kmg_username_is_reserved (username))
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME,
                           "this username is reserved");
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_username_check_format (const char *username, GError **error)
{
  gsize len;

  g_return_val_if_fail (username != NULL, FALSE);
  len = strlen (username);
  if (len < KMG_USERNAME_MIN || len > KMG_USERNAME_MAX)
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME,
                   "username must be %d to %d characters long", KMG_USERNAME_MIN, KMG_USERNAME_MAX);
      return FALSE;
    }
  if (!g_ascii_isalpha (username[0]))
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME,
                           "username must start with a letter");
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if (!username_char_ok (username[i]))
      {
        g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_USERNAME,
                             "username may only contain ASCII letters, digits, '_', '.' and '-'");
        return FALSE;
      }
  return TRUE;
}

gboolean
kmg_password_check (const char *password, gsize len, GError **error)
{
  g_return_val_if_fail (password != NULL, FALSE);
  if (len < KMG_PASSWORD_MIN || len > KMG_PASSWORD_MAX)
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_PASSWORD,
                   "password must be %d to %d bytes long", KMG_PASSWORD_MIN, KMG_PASSWORD_MAX);
      return FALSE;
    }
  if (memchr (password, '\0', len) != NULL)
    {
      g_set_error_literal (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_PASSWORD,
                           "password must not contain a NUL character");
      return FALSE;
    }
  return TRUE;
}

gboolean
kmg_text_check (const char *field, const char *text, gsize max_chars, gboolean multiline,
                GError **error)
{
  g_return_val_if_fail (field != NULL && text != NULL, FALSE);
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_VALUE,
                   "%s must be valid UTF-8", field);
      return FALSE;
    }
  if ((gsize) g_utf8_strlen (text, -1) > max_chars)
    {
      g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_VALUE,
                   "%s must be at most %" G_GSIZE_FORMAT " characters", field, max_chars);
      return FALSE;
    }
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (multiline && (c == '\n' || c == '\t'))
        continue;
      /* Control and bidi-override characters let one user disguise text shown to others. */
      if (g_unichar_iscntrl (c) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069))
        {
          g_set_error (error, KMG_ACCOUNTS_ERROR, KMG_ACCOUNTS_ERROR_INVALID_VALUE,
                       "%s must not contain control characters", field);
          return FALSE;
        }
    }
  return TRUE;
}
