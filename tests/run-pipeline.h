/* run-pipeline.h — runs a gst-launch description to its end inside a test, which must be
 * EOS, not an error: how the tool tests make their own small media files (a sound-only WAV,
 * a one-frame AVI) and read one back (a screenshot). Header-only. */
#ifndef FUNAD_TEST_RUN_PIPELINE_H
#define FUNAD_TEST_RUN_PIPELINE_H

#include <gst/gst.h>

/* Plays description until EOS and returns the pipeline still playing, so that a caller can
 * read its sinks; set it to NULL and unref it when done. */
static inline GstElement *
play_until_eos (const char *description)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);

  g_assert_no_error (error);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
                                                GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
  gst_message_unref (msg);
  gst_object_unref (bus);
  return pipeline;
}

static inline void
run_pipeline_to_eos (const char *description)
{
  GstElement *pipeline = play_until_eos (description);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
}

#endif
