/* review-report.c — funad-review's findings as index.html (for people) and report.json (for
 * programs).
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The page must open from disk in any browser, offline, forever: no script, no external style
 * sheet or font, every picture inline as base64 PNG, and no URL anywhere. Everything that came
 * from outside (file names, the command line, model metadata) is escaped.
 */
#include "review-report.h"

#include <math.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "funad.h"
#include "review-plot.h"

ReviewReport *
review_report_new (void)
{
  ReviewReport *report = g_new0 (ReviewReport, 1);

  report->inputs = g_ptr_array_new ();
  report->segments = g_ptr_array_new ();
  report->top_frames = g_ptr_array_new ();
  return report;
}

void
review_report_free (ReviewReport *report)
{
  for (guint i = 0; i < report->inputs->len; i++) {
    ReviewInput *input = g_ptr_array_index (report->inputs, i);
    g_free (input->path);
    g_free (input->error);
    g_array_unref (input->frames);
    g_free (input);
  }
  for (guint i = 0; i < report->segments->len; i++) {
    ReviewSegment *s = g_ptr_array_index (report->segments, i);
    if (s->thumbnail)
      g_bytes_unref (s->thumbnail);
    g_free (s);
  }
  for (guint i = 0; i < report->top_frames->len; i++) {
    ReviewTopFrame *t = g_ptr_array_index (report->top_frames, i);
    if (t->picture)
      g_bytes_unref (t->picture);
    g_free (t);
  }
  g_ptr_array_unref (report->inputs);
  g_ptr_array_unref (report->segments);
  g_ptr_array_unref (report->top_frames);
  g_free (report->model_path);
  g_free (report->model_scorer);
  g_free (report->training_summary);
  g_free (report->command_line);
  g_free (report->generated_at);
  g_free (report);
}

char *
review_format_time (double seconds)
{
  if (!isfinite (seconds) || seconds < 0)
    return g_strdup ("–");

  /* tenths of a second are enough to find the moment; hours only when there are any */
  long tenths = lround (seconds * 10);
  long h = tenths / 36000, m = tenths / 600 % 60, s = tenths / 10 % 60, d = tenths % 10;

  if (h > 0)
    return g_strdup_printf ("%ld:%02ld:%02ld.%ld", h, m, s, d);
  return g_strdup_printf ("%ld:%02ld.%ld", m, s, d);
}

double
review_input_frame_interval (const ReviewInput *input)
{
  if (input->frames->len == 0)
    return 0.0;
  return input->duration / input->frames->len;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static void
append_escaped (GString *out, const char *text)
{
  char *escaped = g_markup_escape_text (text ? text : "", -1);
  g_string_append (out, escaped);
  g_free (escaped);
}

static void
append_time (GString *out, double seconds)
{
  char *text = review_format_time (seconds);
  g_string_append (out, text);
  g_free (text);
}

static void
append_png (GString *out, GBytes *png, int width, int height, const char *cls, const char *alt)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (png, &size);
  char *base64 = g_base64_encode (data, size);

  g_string_append_printf (out, "<img class=\"%s\" width=\"%d\" height=\"%d\" alt=\"", cls, width,
                          height);
  append_escaped (out, alt);
  g_string_append_printf (out, "\" src=\"data:image/png;base64,%s\">", base64);
  g_free (base64);
}

static const char *
input_name (const ReviewReport *report, guint index)
{
  return ((ReviewInput *) g_ptr_array_index (report->inputs, index))->path;
}

char *
review_input_label (const ReviewReport *report, const char *path)
{
  char *base = g_path_get_basename (path);

  for (guint i = 0; i < report->inputs->len; i++) {
    const char *other = ((ReviewInput *) g_ptr_array_index (report->inputs, i))->path;
    char *other_base = g_path_get_basename (other);
    gboolean clash = strcmp (other, path) != 0 && strcmp (other_base, base) == 0;

    g_free (other_base);
    if (clash) {
      g_free (base);
      return g_strdup (path);
    }
  }
  return base;
}

/* A file's label (review_input_label()), escaped, with the full path as its tooltip. */
static void
append_file (GString *out, const ReviewReport *report, const char *path)
{
  char *label = review_input_label (report, path);

  g_string_append (out, "<span class=\"file\" title=\"");
  append_escaped (out, path);
  g_string_append (out, "\">");
  append_escaped (out, label);
  g_string_append (out, "</span>");
  g_free (label);
}

/* ---- the page ------------------------------------------------------------------------------- */

static const char style_sheet[] =
  ":root{--ink:#1d2330;--muted:#5f6b7a;--line:#d9dee6;--bad:#c62828;--bad-bg:#fdecea;"
  "--blue:#1f5fbf;--card:#fff;--page:#f4f6f9}\n"
  "*{box-sizing:border-box}\n"
  "body{margin:0;background:var(--page);color:var(--ink);font:15px/1.45 system-ui,-apple-system,"
  "'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
  "main{max-width:1240px;margin:0 auto;padding:24px 20px 40px}\n"
  "h1{font-size:26px;margin:0 0 4px}\n"
  "h2{font-size:19px;margin:0 0 6px}\n"
  "section{background:var(--card);border:1px solid var(--line);border-radius:8px;"
  "padding:18px 20px;margin:18px 0}\n"
  ".summary{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0 0}\n"
  ".stat{background:var(--card);border:1px solid var(--line);border-radius:8px;"
  "padding:10px 16px;min-width:150px}\n"
  ".stat b{display:block;font-size:24px}\n"
  ".stat span{color:var(--muted);font-size:13px}\n"
  ".stat.alert b{color:var(--bad)}\n"
  ".hint{color:var(--muted);margin:0 0 12px;font-size:14px}\n"
  ".banner{background:var(--bad-bg);border:1px solid #f3b8b2;color:#8e1c1c;border-radius:8px;"
  "padding:10px 14px;margin:12px 0 0}\n"
  ".plot{width:100%;height:auto;display:block;font-family:inherit}\n"
  ".plot-area{fill:#fbfcfe;stroke:var(--line)}\n"
  ".plot-grid{stroke:#e6e9ef;stroke-width:1}\n"
  ".plot-label{fill:var(--muted);font-size:12px}\n"
  ".plot-file{fill:var(--ink);font-size:15px;font-weight:600}\n"
  ".plot-note{fill:var(--muted);font-weight:400;font-size:13px}\n"
  ".plot-segment{fill:var(--bad);fill-opacity:.16}\n"
  ".plot-segment:hover{fill-opacity:.32}\n"
  ".plot-score{fill:none;stroke:var(--blue);stroke-width:1.4;stroke-linejoin:round}\n"
  ".plot-score-high{fill:none;stroke:var(--bad);stroke-width:1.8;stroke-linejoin:round}\n"
  ".plot-threshold{stroke:var(--bad);stroke-width:1.2;stroke-dasharray:6 4}\n"
  /* a halo in the plot's colour keeps the label legible where the score line crosses it */
  ".plot-threshold-label{fill:var(--bad);font-size:12px;paint-order:stroke;stroke:#fbfcfe;"
  "stroke-width:4px;stroke-linejoin:round}\n"
  ".plot-top path{fill:#333}\n"
  ".plot-top text{fill:#333;font-size:11px;font-weight:600}\n"
  "table{border-collapse:collapse;width:100%}\n"
  "th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);"
  "vertical-align:middle}\n"
  "th{font-size:13px;color:var(--muted);font-weight:600;background:#f8f9fb}\n"
  "td.num{font-variant-numeric:tabular-nums;white-space:nowrap}\n"
  "tr:target{background:#fff8d6}\n"
  ".score{font-weight:600;color:var(--bad)}\n"
  ".ratio{color:var(--muted);font-size:13px}\n"
  "img.thumb{display:block;border-radius:4px;border:1px solid var(--line);max-width:240px;"
  "height:auto}\n"
  ".frames{display:flex;flex-wrap:wrap;gap:18px}\n"
  "figure{margin:0;max-width:100%}\n"
  "figure:target{outline:3px solid #f2c200;outline-offset:4px}\n"
  "img.full{display:block;max-width:100%;height:auto;border-radius:4px;"
  "border:1px solid var(--line)}\n"
  "figcaption{font-size:14px;margin-top:6px}\n"
  "figcaption .rank{display:inline-block;background:var(--ink);color:#fff;border-radius:10px;"
  "padding:0 8px;margin-right:6px;font-weight:600}\n"
  ".legend{display:inline-block;width:180px;height:12px;border-radius:3px;"
  "vertical-align:middle;margin:0 8px;border:1px solid var(--line)}\n"
  "dl{display:grid;grid-template-columns:max-content 1fr;gap:6px 18px;margin:0}\n"
  "dt{color:var(--muted)}\n"
  "dd{margin:0;overflow-wrap:anywhere}\n"
  "code,pre{font:13px/1.4 ui-monospace,'DejaVu Sans Mono',monospace}\n"
  "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f8f9fb;padding:8px;"
  "border-radius:4px}\n"
  ".file{font-weight:600}\n"
  "a{color:var(--blue)}\n"
  "footer{color:var(--muted);font-size:13px}\n";

/* The heat map's colour ramp as a CSS gradient, from the same function that draws it. */
static void
append_heat_legend (GString *out)
{
  g_string_append (out, "<span class=\"legend\" style=\"background:linear-gradient(to right");
  for (int i = 0; i <= 8; i++) {
    guint8 rgb[3];
    funad_heatmap_color (i / 8.0f, rgb);
    g_string_append_printf (out, ",#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
  }
  g_string_append (out, ")\"></span>");
}

static void
append_summary (GString *out, const ReviewReport *report)
{
  guint64 scored = 0, anomalous = 0;
  double duration = 0;

  for (guint i = 0; i < report->inputs->len; i++) {
    const ReviewInput *input = g_ptr_array_index (report->inputs, i);
    scored += input->frames->len;
    anomalous += input->n_anomalous;
    duration += input->duration;
  }

  g_string_append (out, "<div class=\"summary\">");
  g_string_append_printf (out, "<div class=\"stat%s\"><b>%u</b><span>anomalous segment%s</span>"
                          "</div>", report->segments->len ? " alert" : "", report->segments->len,
                          report->segments->len == 1 ? "" : "s");
  g_string_append_printf (out, "<div class=\"stat\"><b>%.1f%%</b><span>of frames above the "
                          "threshold</span></div>", scored ? 100.0 * anomalous / scored : 0.0);
  g_string_append (out, "<div class=\"stat\"><b>");
  append_time (out, duration);
  g_string_append_printf (out, "</b><span>of footage in %u file%s</span></div>",
                          report->inputs->len, report->inputs->len == 1 ? "" : "s");
  char *every = report->every > 1 ? g_strdup_printf (" (1 in %d)", report->every) : g_strdup ("");
  g_string_append_printf (out, "<div class=\"stat\"><b>%" G_GUINT64_FORMAT "</b><span>frames "
                          "scored%s</span></div>", scored, every);
  g_free (every);
  g_string_append_printf (out, "<div class=\"stat\"><b>%.4g</b><span>threshold (%s)</span>"
                          "</div>", report->threshold,
                          report->threshold_from_model ? "the model's, label-free" : "set by hand");
  g_string_append (out, "</div>\n");

  if (report->interrupted)
    g_string_append (out, "<p class=\"banner\">The review was interrupted: this report covers "
                     "only the frames scored until then.</p>\n");
  for (guint i = 0; i < report->inputs->len; i++) {
    const ReviewInput *input = g_ptr_array_index (report->inputs, i);
    if (!input->error)
      continue;
    g_string_append (out, "<p class=\"banner\">");
    append_file (out, report, input->path);
    g_string_append (out, ": decoding stopped early, the report covers the frames before: ");
    append_escaped (out, input->error);
    g_string_append (out, "</p>\n");
  }
}

static void
append_segments (GString *out, const ReviewReport *report)
{
  g_string_append_printf (out, "<section id=\"segments\"><h2>Anomalous segments (%u)</h2>\n",
                          report->segments->len);
  if (report->segments->len == 0) {
    g_string_append (out, "<p class=\"hint\">No frame scored above the threshold.</p>"
                     "</section>\n");
    return;
  }
  g_string_append_printf (out, "<p class=\"hint\">Runs of frames above the threshold; a normal "
                          "stretch of at most %g s does not split a segment. The picture is the "
                          "segment's highest-scoring frame with its heat map.</p>\n",
                          report->min_gap);
  g_string_append (out, "<table><thead><tr><th>#</th><th>File</th><th>Start</th><th>End</th>"
                   "<th>Length</th><th>Peak score</th><th>Peak at</th><th>Peak frame</th>"
                   "</tr></thead><tbody>\n");
  for (guint i = 0; i < report->segments->len; i++) {
    const ReviewSegment *s = g_ptr_array_index (report->segments, i);

    g_string_append_printf (out, "<tr id=\"seg-%d\"><td class=\"num\">%d</td><td>", s->id, s->id);
    append_file (out, report, input_name (report, s->input));
    g_string_append (out, "</td><td class=\"num\">");
    append_time (out, s->start_time);
    g_string_append (out, "</td><td class=\"num\">");
    append_time (out, s->end_time);
    /* from the start of its first frame to the end of its last */
    double length = s->end_time - s->start_time +
                    review_input_frame_interval (g_ptr_array_index (report->inputs, s->input));
    g_string_append_printf (out, "</td><td class=\"num\">%.1f s<br><span class=\"ratio\">%u "
                            "anomalous frame%s</span></td>", length, s->n_anomalous,
                            s->n_anomalous == 1 ? "" : "s");
    g_string_append_printf (out, "<td class=\"num\"><span class=\"score\">%.4g</span><br>"
                            "<span class=\"ratio\">%.2f× threshold</span></td><td class=\"num\">",
                            s->peak_score, s->peak_score / report->threshold);
    append_time (out, s->peak_time);
    g_string_append_printf (out, "<br><span class=\"ratio\">frame %" G_GUINT64_FORMAT
                            "</span></td><td>", s->peak_frame);
    if (s->thumbnail) {
      char *alt = g_strdup_printf ("segment %d, frame %" G_GUINT64_FORMAT, s->id, s->peak_frame);
      append_png (out, s->thumbnail, s->thumb_width, s->thumb_height, "thumb", alt);
      g_free (alt);
    } else {
      g_string_append_printf (out, "<span class=\"ratio\">no picture: only the %d highest "
                              "segments get one</span>", report->thumbnails);
    }
    g_string_append (out, "</td></tr>\n");
  }
  g_string_append (out, "</tbody></table></section>\n");
}

static void
append_top_frames (GString *out, const ReviewReport *report)
{
  if (report->top_frames->len == 0)
    return;  /* --top 0, or nothing scored */
  g_string_append_printf (out, "<section id=\"top\"><h2>The %u most anomalous frames</h2>\n",
                          report->top_frames->len);
  g_string_append_printf (out, "<p class=\"hint\">Highest scores first, at least %g s apart. "
                          "Heat map: transparent below %.4g, then", report->top_spacing,
                          report->heat_lo);
  append_heat_legend (out);
  g_string_append_printf (out, "hottest at %.4g.</p>\n<div class=\"frames\">\n",
                          report->heat_hi);
  for (guint i = 0; i < report->top_frames->len; i++) {
    const ReviewTopFrame *t = g_ptr_array_index (report->top_frames, i);
    char *alt = g_strdup_printf ("top frame %u, frame %" G_GUINT64_FORMAT, i + 1, t->frame);

    g_string_append_printf (out, "<figure id=\"top-%u\">", i + 1);
    append_png (out, t->picture, t->width, t->height, "full", alt);
    g_string_append_printf (out, "<figcaption><span class=\"rank\">%u</span><span "
                            "class=\"score\">%.4g</span> <span class=\"ratio\">(%.2f× "
                            "threshold)</span><br>", i + 1, t->score,
                            t->score / report->threshold);
    append_file (out, report, input_name (report, t->input));
    g_string_append (out, " at ");
    append_time (out, t->time);
    g_string_append_printf (out, ", frame %" G_GUINT64_FORMAT, t->frame);
    if (t->segment > 0)
      g_string_append_printf (out, " · <a href=\"#seg-%d\">segment %d</a>", t->segment,
                              t->segment);
    else
      g_string_append (out, " · below the threshold");
    g_string_append (out, "</figcaption></figure>\n");
    g_free (alt);
  }
  g_string_append (out, "</div></section>\n");
}

/* The training summary's few facts a reviewer cares about, when the model has them. */
static void
append_training (GString *out, const char *summary)
{
  JsonParser *parser = json_parser_new ();

  if (summary && json_parser_load_from_data (parser, summary, -1, NULL) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser))) {
    JsonObject *o = json_node_get_object (json_parser_get_root (parser));

    if (json_object_has_member (o, "frames"))
      g_string_append_printf (out, "<dt>Trained on</dt><dd>%" G_GINT64_FORMAT " frames</dd>\n",
                              json_object_get_int_member (o, "frames"));
    if (json_object_has_member (o, "threshold_rule")) {
      g_string_append (out, "<dt>Threshold rule</dt><dd>");
      append_escaped (out, json_object_get_string_member (o, "threshold_rule"));
      g_string_append (out, "</dd>\n");
    }
  }
  if (summary) {
    g_string_append (out, "<dt>Training summary</dt><dd><details><summary>as stored in the "
                     "model</summary><pre>");
    append_escaped (out, summary);
    g_string_append (out, "</pre></details></dd>\n");
  }
  g_object_unref (parser);
}

static void
append_settings (GString *out, const ReviewReport *report)
{
  g_string_append (out, "<section id=\"settings\"><h2>Model and settings</h2><dl>\n"
                   "<dt>Model</dt><dd><code>");
  append_escaped (out, report->model_path);
  g_string_append (out, "</code></dd>\n<dt>Scorer</dt><dd>");
  append_escaped (out, report->model_scorer ? report->model_scorer : "unknown");
  g_string_append_printf (out, ", frames seen at %d × %d px</dd>\n", report->input_size,
                          report->input_size);
  append_training (out, report->training_summary);
  g_string_append_printf (out, "<dt>Threshold</dt><dd>%.6g: %s</dd>\n", report->threshold,
                          report->threshold_from_model ? "the model's own, chosen at training "
                          "time without labels" : "given with --threshold");
  if (!report->threshold_from_model)
    g_string_append_printf (out, "<dt>Model's threshold</dt><dd>%.6g</dd>\n",
                            report->model_threshold);
  if (report->every > 1)
    g_string_append_printf (out, "<dt>Frames scored</dt><dd>1 in %d (--every)</dd>\n",
                            report->every);
  else
    g_string_append (out, "<dt>Frames scored</dt><dd>every frame</dd>\n");
  g_string_append_printf (out, "<dt>Segments</dt><dd>anomalous frames with normal stretches "
                          "of at most %g s between them are merged (--min-gap)</dd>\n"
                          "<dt>Top frames</dt><dd>%d, at least %g s apart (--top, "
                          "--top-spacing)</dd>\n", report->min_gap, report->top,
                          report->top_spacing);
  g_string_append (out, "<dt>Inputs</dt><dd>");
  for (guint i = 0; i < report->inputs->len; i++) {
    const ReviewInput *input = g_ptr_array_index (report->inputs, i);
    g_string_append (out, "<code>");
    append_escaped (out, input->path);
    g_string_append_printf (out, "</code>: %d × %d, %" G_GUINT64_FORMAT " frames decoded, %u "
                            "scored<br>", input->width, input->height, input->n_decoded,
                            input->frames->len);
  }
  g_string_append (out, "</dd>\n<dt>Command</dt><dd><code>");
  append_escaped (out, report->command_line);
  g_string_append (out, "</code></dd>\n</dl></section>\n");
}

gboolean
review_report_write_html (const ReviewReport *report, const char *path, GError **error)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                          "<title>funad review: %u anomalous segment%s</title>\n<style>\n%s"
                          "</style></head>\n<body><main>\n<header><h1>Anomaly review</h1>\n",
                          report->segments->len, report->segments->len == 1 ? "" : "s",
                          style_sheet);
  g_string_append (out, "<p class=\"hint\">");
  for (guint i = 0; i < report->inputs->len; i++) {
    if (i > 0)
      g_string_append (out, ", ");
    append_file (out, report, input_name (report, i));
  }
  g_string_append (out, " · model <code>");
  char *model_base = g_path_get_basename (report->model_path);
  append_escaped (out, model_base);
  g_free (model_base);
  g_string_append (out, "</code></p>\n");
  append_summary (out, report);
  g_string_append (out, "</header>\n");

  g_string_append (out, "<section id=\"plot\"><h2>Anomaly score over time</h2>\n<p class=\"hint\">"
                   "One row per file. The line is each scored frame's anomaly score, red above "
                   "the dashed threshold; shaded bands are the anomalous segments and numbered "
                   "markers the most anomalous frames (both link to their details below).</p>\n");
  review_plot_svg (out, report);
  g_string_append (out, "</section>\n");

  append_segments (out, report);
  append_top_frames (out, report);
  append_settings (out, report);

  g_string_append (out, "<footer>Written by funad-review on ");
  append_escaped (out, report->generated_at);
  g_string_append_printf (out, " in %.1f s. The scores of every frame are in scores.csv, the "
                          "findings in report.json, beside this page.</footer>\n"
                          "</main></body></html>\n", report->elapsed);

  gboolean ok = g_file_set_contents (path, out->str, out->len, error);
  g_string_free (out, TRUE);
  return ok;
}

/* ---- report.json ---------------------------------------------------------------------------- */

static void
add_double (JsonBuilder *b, const char *name, double value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, value);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, value);
}

static void
add_string (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  if (value)
    json_builder_add_string_value (b, value);
  else
    json_builder_add_null_value (b);
}

gboolean
review_report_write_json (const ReviewReport *report, const char *path, GError **error)
{
  JsonBuilder *b = json_builder_new ();

  json_builder_begin_object (b);
  add_string (b, "model", report->model_path);
  add_double (b, "threshold", report->threshold);
  add_string (b, "threshold_source", report->threshold_from_model ? "model" : "option");
  add_int (b, "every", report->every);
  add_double (b, "min_gap", report->min_gap);
  add_int (b, "top", report->top);
  add_double (b, "top_spacing", report->top_spacing);
  json_builder_set_member_name (b, "interrupted");
  json_builder_add_boolean_value (b, report->interrupted);

  json_builder_set_member_name (b, "inputs");
  json_builder_begin_array (b);
  for (guint i = 0; i < report->inputs->len; i++) {
    const ReviewInput *input = g_ptr_array_index (report->inputs, i);
    json_builder_begin_object (b);
    add_string (b, "file", input->path);
    add_int (b, "width", input->width);
    add_int (b, "height", input->height);
    add_int (b, "frames_decoded", input->n_decoded);
    add_int (b, "frames_scored", input->frames->len);
    add_int (b, "frames_anomalous", input->n_anomalous);
    add_double (b, "duration", input->duration);
    add_string (b, "error", input->error);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "segments");
  json_builder_begin_array (b);
  for (guint i = 0; i < report->segments->len; i++) {
    const ReviewSegment *s = g_ptr_array_index (report->segments, i);
    json_builder_begin_object (b);
    add_int (b, "id", s->id);
    add_string (b, "file", input_name (report, s->input));
    add_int (b, "start_frame", s->start_frame);
    add_int (b, "end_frame", s->end_frame);
    add_double (b, "start_time", s->start_time);
    add_double (b, "end_time", s->end_time);
    add_int (b, "peak_frame", s->peak_frame);
    add_double (b, "peak_time", s->peak_time);
    add_double (b, "peak_score", s->peak_score);
    add_int (b, "frames_anomalous", s->n_anomalous);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);

  json_builder_set_member_name (b, "top_frames");
  json_builder_begin_array (b);
  for (guint i = 0; i < report->top_frames->len; i++) {
    const ReviewTopFrame *t = g_ptr_array_index (report->top_frames, i);
    json_builder_begin_object (b);
    add_int (b, "rank", i + 1);
    add_string (b, "file", input_name (report, t->input));
    add_int (b, "frame", t->frame);
    add_double (b, "time", t->time);
    add_double (b, "score", t->score);
    add_int (b, "segment", t->segment);
    json_builder_end_object (b);
  }
  json_builder_end_array (b);
  json_builder_end_object (b);

  JsonGenerator *generator = json_generator_new ();
  JsonNode *root = json_builder_get_root (b);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  gsize length;
  char *text = json_generator_to_data (generator, &length);
  gboolean ok = g_file_set_contents (path, text, length, error);

  g_free (text);
  json_node_unref (root);
  g_object_unref (generator);
  g_object_unref (b);
  return ok;
}
