/* kmg-map.h — the live map: sellers' displayed positions, viewport queries with clustering.
 * Pure in-memory logic, owned by the main context (not thread-safe); no I/O, no clock reads. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define KMG_MAP_ERROR (kmg_map_error_quark ())
GQuark kmg_map_error_quark (void);

/* Every code is a client mistake (HTTP 400 / WebSocket error), except INVALID_CONFIG. */
typedef enum
{
  KMG_MAP_ERROR_INVALID_COORDINATE, /* NaN/inf, latitude outside [-90,90], longitude outside [-180,180] */
  KMG_MAP_ERROR_INVALID_BBOX,       /* south > north */
  KMG_MAP_ERROR_INVALID_ZOOM,       /* zoom not an integer in 0..KMG_MAP_MAX_ZOOM */
  KMG_MAP_ERROR_BBOX_TOO_LARGE,     /* wider or taller than KMG_MAP_MAX_VIEWPORT_PX at its zoom */
  KMG_MAP_ERROR_INVALID_STATUS,     /* not online/streaming */
  KMG_MAP_ERROR_INVALID_CONFIG,     /* a KmgMapConfig field out of range */
} KmgMapError;

#define KMG_MAP_MAX_ZOOM 22
/* Clusters are cells of a fixed world grid: KMG_MAP_CELL_PX square in Web Mercator at the
 * viewport's zoom (256 px tiles), i.e. tiles of level zoom + 2. */
#define KMG_MAP_CELL_PX 64
/* A viewport may span at most this many pixels per axis at its zoom (64 x 64 grid cells): a screen
 * is far smaller, and it bounds the work of one query. Zooms 0..4 (world <= 4096 px) accept any bbox. */
#define KMG_MAP_MAX_VIEWPORT_PX 4096

typedef enum
{
  KMG_MAP_STATUS_ONLINE = 1,
  KMG_MAP_STATUS_STREAMING = 2,
} KmgMapStatus;

typedef struct
{
  guint online_precision;   /* map.online_precision: geohash precision 1..12, default 5 */
  guint streaming_decimals; /* map.streaming_decimals: 0..8, default 4 */
  double hysteresis;        /* 0..0.5 of the cell size, default 0.15: the least switch margin */
  double hysteresis_spread; /* default 0.6: margins drawn from [hysteresis, hysteresis + spread),
                             * hysteresis + spread <= 1 (see kmg-map-position.h) */
  gint64 switch_delay_min_ms; /* default 5000 */
  gint64 switch_delay_max_ms; /* default 60000, <= 3600000: a cell switch waits a delay drawn
                               * from [min, max]; 0, 0: at once */
  guint max_cluster_zoom;   /* 0..22, default 16: above it cells yield markers unless over the cap */
  guint min_cluster_size;   /* 1..1000, default 2: a cell with fewer sellers yields its markers */
  guint max_items;          /* 1..100000, default 500: query cap when the caller passes 0 */
  gint64 min_update_ms;     /* map.min_update_s in ms, default 5000: closer fixes are ignored */
} KmgMapConfig;

/* Fills @cfg with the defaults above. */
void kmg_map_config_init (KmgMapConfig *cfg);
gboolean kmg_map_config_validate (const KmgMapConfig *cfg, GError **error);

/* What a marker shows besides its position. Immutable and refcounted: results share it. */
typedef struct
{
  char *username;
  char *picture_url; /* may be NULL */
  double rating;     /* average, 0 when unrated */
  guint rating_count;
} KmgMapProfile;

KmgMapProfile *kmg_map_profile_new (const char *username,
                                    const char *picture_url,
                                    double rating,
                                    guint rating_count);
KmgMapProfile *kmg_map_profile_ref (KmgMapProfile *profile);
void kmg_map_profile_unref (KmgMapProfile *profile);
gboolean kmg_map_profile_equal (const KmgMapProfile *a, const KmgMapProfile *b);

/* A validated viewport. west > east means the bbox crosses the antimeridian. */
typedef struct
{
  double south;
  double west;
  double north;
  double east;
  guint zoom;
} KmgMapViewport;

/* The one viewport rule every API applies (REST and WebSocket alike): @zoom is checked first (an
 * integer from 0 to KMG_MAP_MAX_ZOOM: a double so that callers hand over what the client sent),
 * then the coordinates, the bbox and its size. @vp is left untouched on error. */
gboolean kmg_map_viewport_init (KmgMapViewport *vp,
                                double south,
                                double west,
                                double north,
                                double east,
                                double zoom,
                                GError **error);

/* TRUE if the DISPLAYED position (@lat, @lon) is inside @vp (edges included). A query's items
 * depend exactly on the displayed positions for which this is TRUE, so a seller change matters to
 * a subscriber iff this holds for its old or new displayed position. */
gboolean kmg_map_viewport_contains (const KmgMapViewport *vp, double lat, double lon);

typedef enum
{
  KMG_MAP_ITEM_MARKER,
  KMG_MAP_ITEM_CLUSTER,
} KmgMapItemKind;

#define KMG_MAP_ITEM_ID_SIZE 48

/* One thing to draw. Positions are displayed positions (markers) or the mean of the displayed
 * positions of a cluster's members, rounded to 6 decimals. */
typedef struct
{
  KmgMapItemKind kind;
  char id[KMG_MAP_ITEM_ID_SIZE]; /* "u:<user id>" or "c:<grid zoom>:<cell x>:<cell y>" */
  double lat;
  double lon;
  guint count;           /* 1 for a marker */
  guint streaming_count; /* cluster members streaming; 0/1 for a marker */
  /* markers only: */
  gint64 user_id;
  KmgMapStatus status;
  KmgMapProfile *profile; /* owned reference, may be NULL */
} KmgMapItem;

/* Copies @src into @dst, taking a new profile reference. */
void kmg_map_item_copy (KmgMapItem *dst, const KmgMapItem *src);
/* Drops the profile reference. */
void kmg_map_item_clear (KmgMapItem *item);

/* Items in a deterministic order: world-grid cells in Z (Morton) order, then user id. */
typedef struct
{
  KmgMapItem *items;
  guint n_items;
  guint grid_zoom;    /* zoom of the grid the clusters use: coarser than asked when capped */
  gboolean truncated; /* even the coarsest grid tried had too many items: first max kept */
} KmgMapResult;

void kmg_map_result_free (KmgMapResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMapResult, kmg_map_result_free)

/* How one update changed a seller's presence on the map (positions are displayed ones). */
typedef struct
{
  gboolean was_visible;
  double old_lat, old_lon;
  KmgMapStatus old_status;
  gboolean is_visible;
  double lat, lon;
  KmgMapStatus status;
  gboolean throttled; /* the position was ignored: within min_update_ms of the last accepted one */
  gboolean switch_pending; /* a cell switch waits: call kmg_map_apply_due() at switch_due_ms */
  gint64 switch_due_ms;
} KmgMapChange;

typedef struct _KmgMap KmgMap;

/* The map draws switch margins and delays from its own GRand seeded by the system (g_rand_new). */
KmgMap *kmg_map_new (const KmgMapConfig *cfg, GError **error);
void kmg_map_free (KmgMap *map);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (KmgMap, kmg_map_free)

/* Replaces the random source (takes ownership of @rand): reproducible tests only. */
void kmg_map_set_rand (KmgMap *map, GRand *rand);

/* Inserts or updates seller @id from a PRECISE fix. Its displayed position follows the privacy
 * rules; the precise one is not stored. A hidden seller is kept (its cell state survives) but
 * appears in no query, lookup or count. @profile: NULL keeps the previous one (a reference is
 * taken otherwise). A position less than min_update_ms after the last accepted one is ignored
 * unless the status changes. @change (nullable) tells what subscribers must hear about. */
gboolean kmg_map_update_seller (KmgMap *map,
                                gint64 id,
                                double lat,
                                double lon,
                                KmgMapStatus status,
                                gboolean hidden,
                                KmgMapProfile *profile,
                                gint64 now_ms,
                                KmgMapChange *change,
                                GError **error);

/* Carries out seller @id's pending cell switch if it is due at @now_ms (see KmgMapChange and
 * kmg-map-position.h); nothing happens otherwise. Positions received meanwhile have already been
 * applied: the switch goes to the latest one's cell. FALSE if unknown. */
gboolean kmg_map_apply_due (KmgMap *map, gint64 id, gint64 now_ms, KmgMapChange *change);

/* Forgets seller @id (went offline, banned, stopped selling). FALSE if unknown. */
gboolean kmg_map_remove_seller (KmgMap *map, gint64 id, KmgMapChange *change);

/* The marker of a visible seller (for profiles): FALSE if unknown or hidden. Clear @out after. */
gboolean kmg_map_lookup (KmgMap *map, gint64 id, KmgMapItem *out);

/* Visible sellers, and how many of them stream (for metrics). */
guint kmg_map_get_n_visible (KmgMap *map);
guint kmg_map_get_n_streaming (KmgMap *map);

/* Markers and clusters for @vp, at most @max_items (0: the configured cap). Cells holding at
 * least min_cluster_size sellers inside the bbox become clusters, others yield their markers; above
 * max_cluster_zoom every cell yields markers. When the items would exceed the cap, the query is
 * redone with clusters (if it was markers only), then with coarser grids, up to 4 times; after
 * that the first @max_items are kept and ->truncated is set. Cost: O(grid cells in view + markers
 * returned + sellers in leaf buckets crossing the bbox edge), independent of the total. */
KmgMapResult *kmg_map_query (KmgMap *map, const KmgMapViewport *vp, guint max_items);

G_END_DECLS
