/* test-frame-source.c — how the tools list a folder of footage (tools/frame-source.c):
 * symbolic links are followed, but each file is listed once, under its real name where a path
 * without links reaches it, and under the same name on every machine. A link back up the tree
 * made funad-train and funad-eval list every image dozens of times (one link) or walk for ever
 * (two). */
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "frame-source.h"

static char *
make_tree (void)
{
  GError *error = NULL;
  char *root = g_dir_make_tmp ("funad-frame-source-XXXXXX", &error);

  g_assert_no_error (error);
  return root;
}

static void
touch (const char *root, const char *relative)
{
  char *path = g_build_filename (root, relative, NULL);
  char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (path, "not decoded here", -1, NULL));
  g_free (dir);
  g_free (path);
}

static void
link_to (const char *root, const char *target, const char *relative)
{
  char *path = g_build_filename (root, relative, NULL);

  g_assert_cmpint (symlink (target, path), ==, 0);
  g_free (path);
}

/* The listed paths relative to root, joined by spaces. */
static char *
listed (const char *root, gboolean media)
{
  GError *error = NULL;
  GPtrArray *paths = media ? frame_source_list_media (root, &error)
                           : frame_source_list_images (root, &error);
  GString *s = g_string_new (NULL);

  g_assert_no_error (error);
  g_assert_nonnull (paths);
  for (guint i = 0; i < paths->len; i++) {
    const char *p = g_ptr_array_index (paths, i);

    g_assert_true (g_str_has_prefix (p, root));
    g_string_append_printf (s, "%s%s", i ? " " : "", p + strlen (root) + 1);
  }
  g_ptr_array_unref (paths);
  return g_string_free (s, FALSE);
}

static void
remove_tree (const char *root)
{
  char *argv[] = { "rm", "-rf", (char *) root, NULL };
  int status = -1;

  g_assert_true (g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                               &status, NULL));
  g_assert_cmpint (status, ==, 0);
}

static void
test_links_back_up_the_tree_list_once (void)
{
  char *root = make_tree ();

  touch (root, "a.png");
  touch (root, "sub/b.jpg");
  link_to (root, ".", "loop");        /* one link: was every image 41 times */
  link_to (root, "..", "sub/up");     /* a second: the walk was exponential */
  link_to (root, ".", "sub/here");
  char *got = listed (root, FALSE);
  g_assert_cmpstr (got, ==, "a.png sub/b.jpg");
  g_free (got);
  remove_tree (root);
  g_free (root);
}

static void
test_aliases_list_once_under_the_real_name (void)
{
  char *root = make_tree ();

  touch (root, "day3/x.png");
  touch (root, "day3/clip.avi");
  touch (root, "notes.txt");
  link_to (root, "day3", "0-latest");         /* a folder under two names, the link first */
  link_to (root, "day3/x.png", "best.png");   /* a file under two names */
  link_to (root, "/nonexistent/y.png", "gone.png");
  /* the real names win, whatever sorts first; the dangling link is listed for its decoder to
   * name the problem, as before */
  char *images = listed (root, FALSE);
  g_assert_cmpstr (images, ==, "day3/x.png gone.png");
  char *media = listed (root, TRUE);
  g_assert_cmpstr (media, ==, "day3/clip.avi day3/x.png gone.png");
  g_free (images);
  g_free (media);
  remove_tree (root);
  g_free (root);
}

/* What only links reach is listed once, under the first name met; hard links are separate
 * files, as they always were. */
static void
test_linked_only_and_hard_links (void)
{
  char *root = make_tree ();
  char *outside = make_tree ();

  touch (outside, "far.png");
  touch (root, "a.png");
  char *a = g_build_filename (root, "a.png", NULL), *b = g_build_filename (root, "b.png", NULL);
  g_assert_cmpint (link (a, b), ==, 0);
  link_to (root, outside, "m1");
  link_to (root, outside, "m2");
  char *got = listed (root, FALSE);
  g_assert_cmpstr (got, ==, "a.png b.png m1/far.png");
  g_free (got);
  g_free (a);
  g_free (b);
  remove_tree (outside);
  remove_tree (root);
  g_free (outside);
  g_free (root);
}

static void
test_unreadable_folder_is_an_error (void)
{
  GError *error = NULL;
  GPtrArray *paths = frame_source_list_images ("/nonexistent/footage", &error);

  g_assert_null (paths);
  g_assert_error (error, FUNAD_ERROR, FUNAD_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/footage: cannot read folder"));
  g_error_free (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/frame-source/links-back-up-the-tree-list-once",
                   test_links_back_up_the_tree_list_once);
  g_test_add_func ("/frame-source/aliases-list-once-under-the-real-name",
                   test_aliases_list_once_under_the_real_name);
  g_test_add_func ("/frame-source/linked-only-and-hard-links", test_linked_only_and_hard_links);
  g_test_add_func ("/frame-source/unreadable-folder-is-an-error",
                   test_unreadable_folder_is_an_error);
  return g_test_run ();
}
