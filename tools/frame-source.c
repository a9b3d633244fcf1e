/* frame-source.c — decoded frames from image files, videos and folders, through GStreamer.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "frame-source.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

/* A file that yields neither a frame nor a bus message for this long is given up on, so a
 * broken file can never hang a tool. */
#define STALL_TIMEOUT_US (30 * G_USEC_PER_SEC)
/* Frames larger than this are refused before conversion: videoconvert's buffers overflow past
 * 2 GiB (a 30000 x 30000 grey PNG crashed it), and no camera or inspection image comes near. */
#define FRAME_MAX_PIXELS (G_GINT64_CONSTANT (1) << 27)
/* No real dataset nests folders this deep (link loops are walked once: see FolderWalk). */
#define MAX_FOLDER_DEPTH 64

/* After a capture pipeline is told to end (EOS), how long it may take to drain, and how long
 * it may stay silent meanwhile (no frame, no EOS): then the event is not coming through (an
 * element dropped it, the source is stuck), and waiting out the rest would hold up the end of
 * a capture, a Ctrl-C's among them, for seconds. A source that honours EOS ends at once. */
#define EOS_TIMEOUT_NS (5 * GST_SECOND)
#define EOS_QUIET_NS (250 * GST_MSECOND)

static const char *const image_extensions[] = {
  "png", "jpg", "jpeg", "jpe", "bmp", "tif", "tiff", "gif", "webp", "ppm", "pgm", "pnm", NULL
};
static const char *const video_extensions[] = {
  "avi", "mp4", "m4v", "mov", "mkv", "webm", "ogv", "ogg", "mpg", "mpeg", "ts", "mts", "m2ts",
  "flv", "wmv", "asf", "mjpeg", "mjpg", "3gp", "y4m", NULL
};

void
frame_source_init (int *argc, char ***argv)
{
  gst_init (argc, argv);

  /* gdkpixbufdec reads BMP, TIFF, GIF, ... but has rank none, so decodebin never picks it.
   * Marginal rank lets it fill in where no dedicated decoder exists (pngdec and jpegdec
   * outrank it). This changes only this process's in-memory registry. */
  GstPluginFeature *feature = gst_registry_lookup_feature (gst_registry_get (), "gdkpixbufdec");
  if (feature) {
    if (gst_plugin_feature_get_rank (feature) < GST_RANK_MARGINAL)
      gst_plugin_feature_set_rank (feature, GST_RANK_MARGINAL);
    gst_object_unref (feature);
  }
}

static gboolean
has_extension (const char *path, const char *const *extensions)
{
  const char *base = strrchr (path, G_DIR_SEPARATOR);
  const char *dot = strrchr (base ? base + 1 : path, '.');

  if (!dot)
    return FALSE;
  for (int i = 0; extensions[i]; i++)
    if (g_ascii_strcasecmp (dot + 1, extensions[i]) == 0)
      return TRUE;
  return FALSE;
}

gboolean
frame_source_is_image_path (const char *path)
{
  return has_extension (path, image_extensions);
}

gboolean
frame_source_is_video_path (const char *path)
{
  return has_extension (path, video_extensions);
}

/* A folder walk, in two passes. The first lists every file reachable without a symbolic link,
 * under its real name (hard links included, as any other file), and sets the links it meets
 * aside. The second follows those links and adds only what they reach that is not listed yet
 * (by device and inode), each folder entered once: a link back up the tree (`ln -s . loop`)
 * would otherwise be walked until the kernel's link limit, finding every image dozens of
 * times, and two such links made the walk exponential; a `latest -> day3` link counted day3's
 * frames twice. */
typedef struct {
  gboolean videos;
  GHashTable *files;    /* "device:inode" of every file met */
  GHashTable *folders;  /* "device:inode" of every folder entered */
  GArray *links;        /* FolderLink: the links the first pass met, in its order */
  GPtrArray *out;
} FolderWalk;

typedef struct {
  char *path;
  int depth;  /* of the folder holding it */
} FolderLink;

static void
folder_link_clear (gpointer data)
{
  g_free (((FolderLink *) data)->path);
}

/* path's "device:inode", or NULL when it cannot be examined (a dangling link). */
static char *
identity (const char *path)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return NULL;
  return g_strdup_printf ("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64) st.st_dev,
                          (guint64) st.st_ino);
}

/* Adds path's identity to set: FALSE when it was there already. A path that cannot be examined
 * counts as new (a dangling link is listed, for its decoder to name the problem). */
static gboolean
first_time (GHashTable *set, const char *path)
{
  char *key = identity (path);

  return key == NULL || g_hash_table_add (set, key);
}

static gboolean
is_link (const char *path)
{
  GStatBuf st;

  return g_lstat (path, &st) == 0 && S_ISLNK (st.st_mode);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The folder's entries, hidden ones left out, in byte order: which of two names of one
 * folder or file is kept must not depend on the order the file system lists them in. */
static GPtrArray *
sorted_entries (const char *dir, GError **error)
{
  GError *local_error = NULL;
  GDir *handle = g_dir_open (dir, 0, &local_error);
  const char *name;

  if (!handle) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot read folder: %s", dir,
                 local_error->message);
    g_error_free (local_error);
    return NULL;
  }
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (handle)))
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (handle);
  g_ptr_array_sort (names, compare_names);
  return names;
}

static gboolean collect_files (FolderWalk *walk, const char *dir, int depth, gboolean via_link,
                               GError **error);

/* One entry of a folder at depth, or a link the first pass set aside: a folder is walked (once),
 * an image or video listed, unless it was reached through a link (via_link) and is listed
 * already under another name. Takes path. */
static gboolean
take_entry (FolderWalk *walk, char *path, int depth, gboolean via_link, GError **error)
{
  gboolean ok = TRUE;

  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    if (!first_time (walk->folders, path)) {
      /* entered already, through another name */
    } else if (depth >= MAX_FOLDER_DEPTH) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: folders nested more than %d deep",
                   path, MAX_FOLDER_DEPTH);
      ok = FALSE;
    } else {
      ok = collect_files (walk, path, depth + 1, via_link, error);
    }
  } else if (frame_source_is_image_path (path) ||
             (walk->videos && frame_source_is_video_path (path))) {
    /* every file is remembered, so that a link to it does not list it again */
    if (first_time (walk->files, path) || !via_link) {
      g_ptr_array_add (walk->out, path);
      return ok;
    }
  }
  g_free (path);
  return ok;
}

/* via_link: dir was reached through a symbolic link (the second pass). */
static gboolean
collect_files (FolderWalk *walk, const char *dir, int depth, gboolean via_link, GError **error)
{
  GPtrArray *names = sorted_entries (dir, error);
  gboolean ok = TRUE;

  if (!names)
    return FALSE;
  for (guint i = 0; ok && i < names->len; i++) {
    char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);

    if (!via_link && is_link (path)) {
      FolderLink link = { path, depth };
      g_array_append_val (walk->links, link);
    } else {
      ok = take_entry (walk, path, depth, via_link, error);
    }
  }
  g_ptr_array_unref (names);
  return ok;
}

static GPtrArray *
list_files (const char *dir, gboolean videos, GError **error)
{
  FolderWalk walk = { videos, g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                      g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL),
                      g_array_new (FALSE, FALSE, sizeof (FolderLink)),
                      g_ptr_array_new_with_free_func (g_free) };

  g_array_set_clear_func (walk.links, folder_link_clear);
  first_time (walk.folders, dir);
  gboolean ok = collect_files (&walk, dir, 0, FALSE, error);
  /* the second pass appends no links: what it enters is reached through one */
  for (guint i = 0; ok && i < walk.links->len; i++) {
    FolderLink *link = &g_array_index (walk.links, FolderLink, i);
    ok = take_entry (&walk, g_steal_pointer (&link->path), link->depth, TRUE, error);
  }
  g_array_unref (walk.links);
  g_hash_table_unref (walk.files);
  g_hash_table_unref (walk.folders);
  if (!ok)
    g_clear_pointer (&walk.out, g_ptr_array_unref);
  else
    /* Byte-wise, not locale collation: the same folder gives the same order everywhere. */
    g_ptr_array_sort (walk.out, compare_names);
  return walk.out;
}

GPtrArray *
frame_source_list_images (const char *dir, GError **error)
{
  return list_files (dir, FALSE, error);
}

GPtrArray *
frame_source_list_media (const char *dir, GError **error)
{
  return list_files (dir, TRUE, error);
}

#define OTHER_STREAM_KEY "funad-other-stream"
#define NO_VIDEO_KEY "funad-no-video"

/* Links the first raw video pad decodebin exposes to videoconvert; other streams (audio,
 * a second video track) stay unlinked and are ignored. Runs in a streaming thread. */
static void
on_pad_added (GstElement *decodebin, GstPad *pad, gpointer user_data)
{
  GstElement *convert = user_data;
  GstCaps *caps = gst_pad_get_current_caps (pad);

  if (!caps)
    caps = gst_pad_query_caps (pad, NULL);
  const GstStructure *s = gst_caps_get_size (caps) > 0 ? gst_caps_get_structure (caps, 0) : NULL;

  if (s && gst_structure_has_name (s, "video/x-raw")) {
    GstPad *sink = gst_element_get_static_pad (convert, "sink");

    if (!gst_pad_is_linked (sink))
      gst_pad_link (pad, sink);
    gst_object_unref (sink);
  }
  else
    /* remembered for the message when no video stream comes: "Internal data stream error"
     * says nothing to a user who gave an audio file */
    g_object_set_data (G_OBJECT (convert), OTHER_STREAM_KEY, GINT_TO_POINTER (1));
  gst_caps_unref (caps);
}

/* decodebin has exposed every stream: with none of them video, the file has no picture. The
 * pump says so at once, whatever the streaming thread then does with its unlinked pads (it
 * posts "Internal data stream error" in most runs; once, loaded, it stalled instead). */
static void
on_no_more_pads (GstElement *decodebin, gpointer user_data)
{
  GstElement *convert = user_data;
  GstPad *sink = gst_element_get_static_pad (convert, "sink");

  if (!gst_pad_is_linked (sink))
    g_object_set_data (G_OBJECT (convert), NO_VIDEO_KEY, GINT_TO_POINTER (1));
  gst_object_unref (sink);
}

/* Refuses, with an error on the bus, a stream whose frames are too large to convert. */
static GstPadProbeReturn
check_frame_size (GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  if (GST_EVENT_TYPE (event) != GST_EVENT_CAPS)
    return GST_PAD_PROBE_OK;
  GstCaps *caps = NULL;
  gst_event_parse_caps (event, &caps);
  const GstStructure *s = caps && gst_caps_get_size (caps) > 0
                          ? gst_caps_get_structure (caps, 0) : NULL;
  int width = 0, height = 0;
  if (!s || !gst_structure_get_int (s, "width", &width)
      || !gst_structure_get_int (s, "height", &height)
      || (gint64) width * height <= FRAME_MAX_PIXELS)
    return GST_PAD_PROBE_OK;
  GstElement *convert = user_data;
  GST_ELEMENT_ERROR (convert, STREAM, FORMAT, ("frames of %d x %d pixels are larger than "
                     "supported (%d megapixels at most)", width, height,
                     (int) (FRAME_MAX_PIXELS / 1000000)), (NULL));
  return GST_PAD_PROBE_DROP;
}

/* Checks the file can be opened before building a pipeline, for a plainer message than
 * GStreamer's ("Could not open resource for reading"). */
static gboolean
check_readable_file (const char *path, GError **error)
{
  GStatBuf st;

  if (g_stat (path, &st) != 0) {
    int saved = errno;
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: %s", path, g_strerror (saved));
    return FALSE;
  }
  if (S_ISDIR (st.st_mode)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: is a folder, not a file", path);
    return FALSE;
  }
  /* A pipe or a device would block the read or never end. */
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: not a regular file", path);
    return FALSE;
  }
  FILE *f = g_fopen (path, "rb");
  if (!f) {
    int saved = errno;
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO, "%s: cannot read: %s", path,
                 g_strerror (saved));
    return FALSE;
  }
  fclose (f);
  if (st.st_size == 0) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: empty file", path);
    return FALSE;
  }
  return TRUE;
}

/* Hands one appsink sample to func as a FunadImage. */
static gboolean
deliver_sample (GstSample *sample, FrameFormat format, const char *path, guint64 index,
                FrameFunc func, gpointer user_data, GError **error)
{
  GstVideoInfo info;
  GstVideoFrame frame;
  GstBuffer *buffer = gst_sample_get_buffer (sample);
  GstCaps *caps = gst_sample_get_caps (sample);

  if (!buffer || !caps || !gst_video_info_from_caps (&info, caps) ||
      !gst_video_frame_map (&frame, &info, buffer, GST_MAP_READ)) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: frame %" G_GUINT64_FORMAT
                 " could not be read", path, index);
    return FALSE;
  }

  FunadImage image = {
    .data = GST_VIDEO_FRAME_PLANE_DATA (&frame, 0),
    .width = GST_VIDEO_FRAME_WIDTH (&frame),
    .height = GST_VIDEO_FRAME_HEIGHT (&frame),
    .stride = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, 0),
    .pixel_stride = format == FRAME_FORMAT_RGB ? 3 : 1,
    .r_offset = 0,
    .g_offset = format == FRAME_FORMAT_RGB ? 1 : 0,
    .b_offset = format == FRAME_FORMAT_RGB ? 2 : 0,
  };
  FrameInfo frame_info = { path, index, GST_BUFFER_PTS (buffer), GST_BUFFER_DURATION (buffer) };
  gboolean keep_going = func (&image, &frame_info, user_data, error);

  gst_video_frame_unmap (&frame);
  return keep_going;
}

/* Why pump_frames() returned. */
typedef enum {
  PUMP_END,      /* end of stream (or the capture's duration reached) */
  PUMP_STOPPED,  /* the callback returned FALSE, with or without an error */
  PUMP_FAILED    /* decoding failed or stalled; error is set */
} PumpResult;

typedef struct {
  GstElement *pipeline;
  gint sent;            /* atomic: the sources have taken the EOS */
} EosSender;

static gpointer
send_eos (gpointer data)
{
  EosSender *sender = data;

  gst_element_send_event (sender->pipeline, gst_event_new_eos ());
  g_atomic_int_set (&sender->sent, 1);
  return NULL;
}

static gboolean
push_flush_start (GstElement *element, GstPad *pad, gpointer unused)
{
  gst_pad_push_event (pad, gst_event_new_flush_start ());
  return TRUE;
}

static void
flush_from_source (const GValue *item, gpointer unused)
{
  GstElement *element = g_value_get_object (item);

  if (GST_OBJECT_FLAG_IS_SET (element, GST_ELEMENT_FLAG_SOURCE))
    gst_element_foreach_src_pad (element, push_flush_start, NULL);
}

/* Ends a pipeline politely: EOS from the sources, then a bounded wait for it to drain, so a
 * live source (a camera, an RTSP stream) closes its connection cleanly; the wait ends early
 * once nothing has come for EOS_QUIET_NS. The event is sent from a helper thread: a source
 * takes it only between two pushes, and it holds its lock while it pushes into a full appsink,
 * so sending from here, without pulling, would wait for ever.
 *
 * A source stuck pushing into another branch (a queue before a sink that waits for the silent
 * appsink to preroll) never takes the event, and the helper waits in it holding the pipeline's
 * and the source's state locks, which going to NULL needs before anything is stopped: the
 * capture would never end. So when the helper has not come back by the end of the wait, a
 * flush is pushed down from every source, as a flushing seek starts, which makes the stuck
 * pushes return; the source then takes the EOS and the helper returns. */
static void
stop_with_eos (GstElement *pipeline, GstAppSink *appsink)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  EosSender sender = { pipeline, 0 };
  GThread *thread = g_thread_new ("funad-eos", send_eos, &sender);
  gint64 now = g_get_monotonic_time ();
  gint64 deadline = now + EOS_TIMEOUT_NS / GST_USECOND;
  gint64 quiet_until = now + EOS_QUIET_NS / GST_USECOND;

  while (g_get_monotonic_time () < MIN (deadline, quiet_until)
         && !gst_app_sink_is_eos (appsink)) {
    GstSample *sample = gst_app_sink_try_pull_sample (appsink, 20 * GST_MSECOND);
    if (sample) {
      gst_sample_unref (sample);
      quiet_until = g_get_monotonic_time () + EOS_QUIET_NS / GST_USECOND;
    }
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg) {
      gst_message_unref (msg);
      break;
    }
  }
  if (!g_atomic_int_get (&sender.sent)) {
    GstIterator *elements = gst_bin_iterate_recurse (GST_BIN (pipeline));

    /* a bin that adds or removes a child meanwhile (decodebin, rtspsrc) makes the walk start
     * again; a source flushed twice is harmless */
    while (gst_iterator_foreach (elements, flush_from_source, NULL) == GST_ITERATOR_RESYNC)
      gst_iterator_resync (elements);
    gst_iterator_free (elements);
  }
  /* The helper has returned, or will once the stuck pushes have: going to NULL, which needs its
   * locks, waits no longer than that. */
  gst_element_set_state (pipeline, GST_STATE_NULL);
  g_thread_join (thread);
  gst_object_unref (bus);
}

/* A truncated file (a copy cut short) ends in a clean EOS, its frames up to the cut intact; the
 * container's header still gives the whole length. A video stream that ends more than 5% (and
 * a frame) short of its stated duration is reported as broken part-way, so that the summary
 * counts it. A stream that states no duration (images, live) is never flagged. */
static gboolean
ends_early (GstAppSink *appsink, guint64 last_end, const char *label, GError **error)
{
  GstPad *pad = gst_element_get_static_pad (GST_ELEMENT (appsink), "sink");
  gint64 total = -1;
  gboolean known = gst_pad_peer_query_duration (pad, GST_FORMAT_TIME, &total) && total > 0;

  gst_object_unref (pad);
  if (!known || !GST_CLOCK_TIME_IS_VALID (last_end) || last_end + total / 20 >= (guint64) total)
    return FALSE;
  g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: the video ends at %.2f s of the "
               "%.2f s its header gives (the file looks truncated)", label,
               (double) last_end / GST_SECOND, (double) total / GST_SECOND);
  return TRUE;
}

/* Pulls frames from appsink into func until the end, an error, a stall, the callback or *stop
 * (may be NULL) says stop, or (max_seconds > 0) the footage's timestamps span max_seconds.
 * label names the source in messages; convert (may be NULL) tells whether a video stream was
 * ever linked. */
static PumpResult
pump_frames (GstElement *pipeline, GstAppSink *appsink, GstElement *convert, const char *label,
             FrameFormat format, double max_seconds, FrameFunc func, gpointer user_data,
             const gint *stop, guint64 *n_frames, GError **error)
{
  GstBus *bus = gst_element_get_bus (pipeline);
  gint64 last_progress = g_get_monotonic_time (), wall_start = last_progress;
  guint64 count = 0, first_pts = GST_CLOCK_TIME_NONE, last_end = GST_CLOCK_TIME_NONE;
  PumpResult result = PUMP_FAILED;

  /* A failed state change posts its reason on the bus, where the loop reads it. */
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  for (;;) {
    /* Asked to stop: also while no frame comes (a camera that hung, a stream not yet up). */
    if (stop && g_atomic_int_get (stop)) {
      if (max_seconds > 0 || !convert)
        stop_with_eos (pipeline, appsink);
      result = PUMP_STOPPED;
      break;
    }
    GstSample *sample = gst_app_sink_try_pull_sample (appsink, 50 * GST_MSECOND);

    if (sample) {
      GstBuffer *buffer = gst_sample_get_buffer (sample);
      guint64 pts = buffer ? GST_BUFFER_PTS (buffer) : GST_CLOCK_TIME_NONE;

      if (GST_CLOCK_TIME_IS_VALID (pts))
        last_end = pts + (GST_BUFFER_DURATION_IS_VALID (buffer) ? GST_BUFFER_DURATION (buffer) : 0);

      if (max_seconds > 0) {
        /* Footage time when frames carry timestamps (a non-live test source runs faster than
         * real time); wall-clock time when they do not. */
        double span;
        if (GST_CLOCK_TIME_IS_VALID (pts)) {
          if (!GST_CLOCK_TIME_IS_VALID (first_pts))
            first_pts = pts;
          span = (double) (pts - MIN (pts, first_pts)) / GST_SECOND;
        } else {
          span = (g_get_monotonic_time () - wall_start) / 1e6;
        }
        if (span >= max_seconds) {
          gst_sample_unref (sample);
          stop_with_eos (pipeline, appsink);
          result = PUMP_END;
          break;
        }
      }
      gboolean keep_going = deliver_sample (sample, format, label, count, func, user_data,
                                            error);

      gst_sample_unref (sample);
      if (!keep_going) {
        if (max_seconds > 0 || !convert)
          stop_with_eos (pipeline, appsink);
        result = PUMP_STOPPED;
        break;
      }
      count++;
      last_progress = g_get_monotonic_time ();
    }

    if (!sample && count == 0 && convert
        && g_object_get_data (G_OBJECT (convert), NO_VIDEO_KEY)) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: no video stream (only audio "
                   "or other streams)", label);
      break;
    }
    GstMessage *msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
    if (msg) {
      GError *gst_error = NULL;
      gboolean has_video = count > 0;

      if (convert) {
        GstPad *convert_sink = gst_element_get_static_pad (convert, "sink");
        has_video = has_video || gst_pad_is_linked (convert_sink);
        gst_object_unref (convert_sink);
      }
      gst_message_parse_error (msg, &gst_error, NULL);
      if (!has_video && count == 0 && convert
          && g_object_get_data (G_OBJECT (convert), OTHER_STREAM_KEY))
        g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: no video stream (only audio "
                     "or other streams)", label);
      else if (!has_video && count == 0)
        g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: cannot decode as image or "
                     "video: %s", label, gst_error->message);
      else
        g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: decoding failed after %"
                     G_GUINT64_FORMAT " frames: %s", label, count, gst_error->message);
      g_error_free (gst_error);
      gst_message_unref (msg);
      break;
    }
    if (!sample && gst_app_sink_is_eos (appsink)) {
      if (count == 0)
        g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "%s: no frame could be decoded "
                     "from the %s (%s)", label, convert ? "file" : "stream",
                     convert ? "truncated, or holds no picture?" : "it ended before one came");
      else if (convert && ends_early (appsink, last_end, label, error))
        ;  /* failed part-way, though quietly: the frames so far are kept */
      else
        result = PUMP_END;
      break;
    }
    if (!sample && g_get_monotonic_time () - last_progress > STALL_TIMEOUT_US) {
      g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT,
                   "%s: decoding stalled (no frame for %d s)", label,
                   (int) (STALL_TIMEOUT_US / G_USEC_PER_SEC));
      break;
    }
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  if (n_frames)
    *n_frames = count;
  return result;
}

static PumpResult
decode_file (const char *path, FrameFormat format, FrameFunc func, gpointer user_data,
             guint64 *n_frames, GError **error)
{
  if (n_frames)
    *n_frames = 0;
  if (!check_readable_file (path, error))
    return PUMP_FAILED;

  GstElement *pipeline = gst_pipeline_new ("frame-source");
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *decode = gst_element_factory_make ("decodebin", NULL);
  GstElement *convert = gst_element_factory_make ("videoconvert", NULL);
  GstElement *sink = gst_element_factory_make ("appsink", NULL);

  if (!src || !decode || !convert || !sink) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_IO,
                 "%s: GStreamer elements filesrc, decodebin, videoconvert or appsink are missing "
                 "(install gstreamer1.0-plugins-base)", path);
    g_clear_object (&src);
    g_clear_object (&decode);
    g_clear_object (&convert);
    g_clear_object (&sink);
    gst_object_unref (pipeline);
    return PUMP_FAILED;
  }

  GstCaps *caps = gst_caps_new_simple ("video/x-raw", "format", G_TYPE_STRING,
                                       format == FRAME_FORMAT_RGB ? "RGB" : "GRAY8", NULL);
  g_object_set (src, "location", path, NULL);
  /* Not synchronised to the clock: decode as fast as the callback takes frames. */
  g_object_set (sink, "caps", caps, "sync", FALSE, "max-buffers", 4, NULL);
  gst_caps_unref (caps);

  gst_bin_add_many (GST_BIN (pipeline), src, decode, convert, sink, NULL);
  gst_element_link (src, decode);
  gst_element_link (convert, sink);
  g_signal_connect (decode, "pad-added", G_CALLBACK (on_pad_added), convert);
  g_signal_connect (decode, "no-more-pads", G_CALLBACK (on_no_more_pads), convert);
  GstPad *convert_sink = gst_element_get_static_pad (convert, "sink");
  gst_pad_add_probe (convert_sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, check_frame_size,
                     convert, NULL);
  gst_object_unref (convert_sink);

  PumpResult result = pump_frames (pipeline, GST_APP_SINK (sink), convert, path, format, 0,
                                   func, user_data, NULL, n_frames, error);
  gst_object_unref (pipeline);
  return result;
}

gboolean
frame_source_decode_file (const char *path, FrameFormat format, FrameFunc func,
                          gpointer user_data, guint64 *n_frames, GError **error)
{
  return decode_file (path, format, func, user_data, n_frames, error) == PUMP_END;
}

gboolean
frame_source_capture (const char *description, double max_seconds, FrameFormat format,
                      FrameFunc func, gpointer user_data, const gint *stop, guint64 *n_frames,
                      GError **error)
{
  GError *parse_error = NULL;
  char *full = g_strdup_printf ("%s ! videoconvert ! video/x-raw,format=%s ! "
                                "appsink name=funad_frames sync=false max-buffers=4",
                                description, format == FRAME_FORMAT_RGB ? "RGB" : "GRAY8");
  GstElement *pipeline = gst_parse_launch_full (full, NULL, GST_PARSE_FLAG_FATAL_ERRORS,
                                                &parse_error);

  if (n_frames)
    *n_frames = 0;
  g_free (full);
  if (!pipeline || parse_error) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT, "pipeline \"%s\": %s", description,
                 parse_error ? parse_error->message : "could not be built");
    g_clear_error (&parse_error);
    if (pipeline)
      gst_object_unref (pipeline);
    return FALSE;
  }

  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "funad_frames");
  PumpResult result = pump_frames (pipeline, GST_APP_SINK (sink), NULL, "pipeline", format,
                                   max_seconds, func, user_data, stop, n_frames, error);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return result == PUMP_END;
}

/* Reports a file that failed part-way or entirely, and counts it. */
static void
count_bad_file (const char *path, guint64 n, GError *file_error, FrameSourceStats *stats)
{
  if (n > 0) {
    g_printerr ("%s: warning: kept %" G_GUINT64_FORMAT " frames of %s\n", g_get_prgname (), n,
                file_error->message);
    stats->n_partial++;
  } else {
    g_printerr ("%s: warning: skipped %s\n", g_get_prgname (), file_error->message);
    stats->n_failed++;
  }
}

gboolean
frame_source_foreach (const char *input, FrameFormat format, FrameFunc func,
                      gpointer user_data, FrameSourceStats *stats, GError **error)
{
  FrameSourceStats local_stats = { 0 };
  guint64 n;

  if (!stats)
    stats = &local_stats;

  if (!g_file_test (input, G_FILE_TEST_IS_DIR)) {
    GError *file_error = NULL;
    PumpResult result = decode_file (input, format, func, user_data, &n, &file_error);

    stats->n_files++;
    stats->n_frames += n;
    /* A file named directly that gave nothing is an error; one that broke part-way keeps the
     * frames before the break. */
    if (result == PUMP_FAILED && n > 0) {
      count_bad_file (input, n, file_error, stats);
      g_clear_error (&file_error);
      return TRUE;
    }
    if (file_error)
      g_propagate_error (error, file_error);
    return result == PUMP_END;
  }

  GPtrArray *paths = frame_source_list_media (input, error);
  if (!paths)
    return FALSE;
  if (paths->len == 0) {
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT,
                 "%s: no image or video files in this folder (looked for png, jpg, bmp, tif, "
                 "avi, mp4, mkv, ...)", input);
    g_ptr_array_unref (paths);
    return FALSE;
  }

  guint decoded = 0;
  gboolean stopped = FALSE;

  for (guint i = 0; i < paths->len && !stopped; i++) {
    const char *path = g_ptr_array_index (paths, i);
    GError *file_error = NULL;
    PumpResult result = decode_file (path, format, func, user_data, &n, &file_error);

    stats->n_files++;
    stats->n_frames += n;
    if (result == PUMP_END) {
      decoded++;
    } else if (result == PUMP_FAILED) {
      /* One bad file in a folder is reported and skipped, never fatal. */
      count_bad_file (path, n, file_error, stats);
      decoded += n > 0;
      g_clear_error (&file_error);
    } else {
      /* The callback stopped or failed: pass that on. */
      if (file_error)
        g_propagate_error (error, file_error);
      stopped = TRUE;
    }
  }

  if (!stopped && decoded == 0)
    g_set_error (error, FUNAD_ERROR, FUNAD_ERROR_INPUT,
                 "%s: none of its %u files could be decoded", input, paths->len);
  g_ptr_array_unref (paths);
  return !stopped && decoded > 0;
}
