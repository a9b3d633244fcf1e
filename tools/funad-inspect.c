/* funad-inspect.c — prints what a funad model file holds.
 *
 * Copyright (C) 2026 funad contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 *   funad-inspect [--json] MODEL
 *
 * The file is fully loaded and checked (funad_model_load), so a model this prints is one the
 * element and the tools will accept.
 */
#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "cli-error.h"
#include "funad.h"

/* Metadata keys in the order they are printed; missing ones are left out. */
static const char *const keys[] = {
  "format", "format_version", "backbone", "channels", "scorer", "input_size", "grid",
  "n_scales", "dict_size", "feature_dim", "input_mean", "input_std", "bank_rows", "bank_floor",
  "hidden1", "hidden2", "calibration", "appearance_frames", "appearance_weight", "threshold",
  NULL
};

/* What the backbone needs to run; the builtin one is inside the file, a pretrained one's
 * weights file was found and checked when the model loaded. */
static char *
backbone_weights (FunadModel *model)
{
  const char *backbone = funad_model_get_metadata (model, "backbone");
  const char *weights = funad_model_get_metadata (model, "backbone_weights");
  if (g_strcmp0 (backbone, "builtin") == 0)
    return g_strdup ("none beyond this file (whitening and patch dictionary are stored in it)");
  if (weights)
    return g_strdup_printf ("%s (%s bytes, SHA-256 %s; present and matching)", weights,
                            funad_model_get_metadata (model, "backbone_weights_size"),
                            funad_model_get_metadata (model, "backbone_weights_sha256"));
  return g_strdup ("unknown backbone: this build cannot run it");
}

int
main (int argc, char **argv)
{
  gboolean as_json = FALSE;
  char **files = NULL;
  GError *error = NULL;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print one JSON object (default: text)", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "MODEL" },
    { NULL }
  };
  GOptionContext *context = g_option_context_new ("- print what a funad model file holds");

  setlocale (LC_ALL, "");
  g_set_prgname ("funad-inspect");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
      "Prints the format version, the backbone and the weights it needs, the input size, the\n"
      "label-free threshold and the training summary stored in MODEL.");
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    int rc = cli_fail (error->message);
    g_error_free (error);
    return rc;
  }
  g_option_context_free (context);
  if (cli_fail_bad_values (entries))
    return EXIT_FAILURE;
  if (!files || !files[0])
    return cli_fail ("no model file given");
  if (files[1])
    return cli_fail ("one model file at a time");

  FunadModel *model = funad_model_load (files[0], &error);
  if (!model) {
    int rc = cli_fail (error->message);
    g_error_free (error);
    g_strfreev (files);
    return rc;
  }

  const char *summary_text = funad_model_get_metadata (model, "training_summary");
  JsonParser *parser = json_parser_new ();
  gboolean have_summary = summary_text && json_parser_load_from_data (parser, summary_text, -1,
                                                                      NULL);
  char *weights = backbone_weights (model);

  if (as_json) {
    JsonBuilder *b = json_builder_new ();
    JsonGenerator *gen = json_generator_new ();

    json_builder_begin_object (b);
    json_builder_set_member_name (b, "file");
    json_builder_add_string_value (b, files[0]);
    for (int i = 0; keys[i]; i++) {
      const char *value = funad_model_get_metadata (model, keys[i]);
      if (!value)
        continue;
      json_builder_set_member_name (b, keys[i]);
      /* Numbers as numbers (the file stores every metadata value as a string). */
      char *end = NULL;
      double number = g_ascii_strtod (value, &end);
      if (end && end != value && *end == '\0' && strcmp (keys[i], "format") != 0) {
        if (strpbrk (value, ".eEn"))
          json_builder_add_double_value (b, number);
        else
          json_builder_add_int_value (b, (gint64) number);
      } else {
        json_builder_add_string_value (b, value);
      }
    }
    json_builder_set_member_name (b, "backbone_weights");
    json_builder_add_string_value (b, weights);
    json_builder_set_member_name (b, "training_summary");
    if (have_summary)
      json_builder_add_value (b, json_node_copy (json_parser_get_root (parser)));
    else
      json_builder_add_null_value (b);
    json_builder_end_object (b);

    JsonNode *root = json_builder_get_root (b);
    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    char *text = json_generator_to_data (gen, NULL);
    g_print ("%s\n", text);
    g_free (text);
    json_node_unref (root);
    g_object_unref (gen);
    g_object_unref (b);
  } else {
    g_print ("file:             %s\n", files[0]);
    for (int i = 0; keys[i]; i++) {
      const char *value = funad_model_get_metadata (model, keys[i]);
      if (value)
        g_print ("%-17s %s\n", keys[i], value);
    }
    g_print ("backbone weights: %s\n", weights);
    g_print ("input:            %d x %d pixels, map grid %d x %d\n",
             funad_model_input_size (model), funad_model_input_size (model),
             funad_model_grid_size (model), funad_model_grid_size (model));
    if (have_summary) {
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      GList *members = json_object_get_members (o);

      g_print ("training summary:\n");
      for (GList *m = members; m; m = m->next) {
        JsonNode *node = json_object_get_member (o, m->data);
        char *value = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) ==
                      G_TYPE_STRING ? g_strdup (json_node_get_string (node))
                                    : json_to_string (node, FALSE);
        g_print ("  %-28s %s\n", (char *) m->data, value);
        g_free (value);
      }
      g_list_free (members);
    } else {
      g_print ("training summary: none\n");
    }
  }

  g_object_unref (parser);
  g_free (weights);
  funad_model_unref (model);
  g_strfreev (files);
  return EXIT_SUCCESS;
}
