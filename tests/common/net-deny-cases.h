/* net-deny-cases.h — one table of addresses and the verdict of the denied-address rule on each,
 * shared by the tests of the matcher and of every consumer (sessions candidates, relay). */
#pragma once

#include <glib.h>

typedef enum
{
  NET_ALLOW,    /* outside every default range */
  NET_DENY,     /* in a default range */
  NET_LOOPBACK, /* loopback: denied unless allow_loopback */
} NetVerdict;

typedef struct
{
  const char *address; /* IP literals only: a .local name is for each consumer to judge */
  NetVerdict verdict;
} NetDenyCase;

static const NetDenyCase net_deny_cases[] = {
  /* 169.254.0.0/16 link-local, incl. cloud metadata */
  { "169.253.255.255", NET_ALLOW },
  { "169.254.0.0", NET_DENY },
  { "169.254.169.254", NET_DENY },
  { "169.254.255.255", NET_DENY },
  { "169.255.0.0", NET_ALLOW },
  /* 224.0.0.0/4 multicast */
  { "223.255.255.255", NET_ALLOW },
  { "224.0.0.0", NET_DENY },
  { "239.255.255.250", NET_DENY },
  { "239.255.255.255", NET_DENY },
  { "240.0.0.0", NET_ALLOW },
  /* 0.0.0.0/8 "this network", 255.255.255.255 broadcast */
  { "0.0.0.0", NET_DENY },
  { "0.255.255.255", NET_DENY },
  { "1.0.0.0", NET_ALLOW },
  { "255.255.255.254", NET_ALLOW },
  { "255.255.255.255", NET_DENY },
  /* 127.0.0.0/8 loopback */
  { "126.255.255.255", NET_ALLOW },
  { "127.0.0.0", NET_LOOPBACK },
  { "127.0.0.1", NET_LOOPBACK },
  { "127.255.255.255", NET_LOOPBACK },
  { "128.0.0.0", NET_ALLOW },
  /* fe80::/10 link-local */
  { "fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_ALLOW },
  { "fe80::", NET_DENY },
  { "fe80::1", NET_DENY },
  { "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_DENY },
  { "fec0::", NET_ALLOW },
  /* ff00::/8 multicast */
  { "feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_ALLOW },
  { "ff00::", NET_DENY },
  { "ff02::1", NET_DENY },
  { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NET_DENY },
  /* ::/128 unspecified, ::1 loopback, and the rest of ::/104, which carries no IPv4 */
  { "::", NET_DENY },
  { "::1", NET_LOOPBACK },
  { "::2", NET_ALLOW },
  { "::0.255.255.255", NET_ALLOW },
  /* IPv4-mapped ::ffff:0:0/96 */
  { "::ffff:169.254.169.254", NET_DENY },
  { "::ffff:a9fe:a9fe", NET_DENY },
  { "::ffff:169.253.255.255", NET_ALLOW },
  { "::ffff:224.0.0.1", NET_DENY },
  { "::ffff:0.0.0.0", NET_DENY },
  { "::ffff:255.255.255.255", NET_DENY },
  { "::ffff:127.0.0.1", NET_LOOPBACK },
  { "::ffff:7f00:1", NET_LOOPBACK },
  { "::ffff:192.0.2.1", NET_ALLOW },
  /* NAT64 well-known prefix 64:ff9b::/96 */
  { "64:ff9b::a9fe:a9fe", NET_DENY },
  { "64:ff9b::169.254.169.254", NET_DENY },
  { "64:ff9b::a9ff:0", NET_ALLOW },
  { "64:ff9b::e000:1", NET_DENY },
  { "64:ff9b::", NET_DENY },
  { "64:ff9b::ffff:ffff", NET_DENY },
  { "64:ff9b::7f00:1", NET_LOOPBACK },
  { "64:ff9b::127.255.255.255", NET_LOOPBACK },
  { "64:ff9b::c000:201", NET_ALLOW },
  { "64:ff9b::1:a9fe:a9fe", NET_ALLOW }, /* outside the /96 */
  /* IPv4-compatible ::a.b.c.d */
  { "::169.254.169.254", NET_DENY },
  { "::224.0.0.1", NET_DENY },
  { "::255.255.255.255", NET_DENY },
  { "::127.0.0.1", NET_LOOPBACK },
  { "::1.0.0.0", NET_ALLOW },
  { "::192.0.2.1", NET_ALLOW },
  /* near the carrying forms, but ordinary IPv6 */
  { "::fffe:a9fe:a9fe", NET_ALLOW },
  { "::1:ffff:a9fe:a9fe", NET_ALLOW },
  /* ordinary public and private addresses */
  { "192.0.2.1", NET_ALLOW },
  { "198.51.100.7", NET_ALLOW },
  { "8.8.8.8", NET_ALLOW },
  { "10.0.0.1", NET_ALLOW },
  { "192.168.1.1", NET_ALLOW },
  { "2001:db8::1", NET_ALLOW },
  { "2606:4700::1111", NET_ALLOW },
};

/* The verdict with or without loopback allowed (the relay.allow_loopback test switch). */
static inline gboolean
net_deny_case_denied (const NetDenyCase *c, gboolean allow_loopback)
{
  return c->verdict == NET_DENY || (c->verdict == NET_LOOPBACK && !allow_loopback);
}
