/* funad.h — libfunad, the engine of funad: unsupervised visual anomaly detection (FUN-AD).
 *
 * Depends on GLib and OpenBLAS only, never on GStreamer.
 *
 * Thread safety: a FunadModel is immutable once loaded or trained and may be shared by any
 * number of threads (it is reference counted; ref/unref are atomic). A FunadScorer holds the
 * scratch memory of one scoring call: use one scorer per thread. A FunadTrainer is used by one
 * thread, except funad_trainer_cancel(), which any thread (or a signal handler's idle source)
 * may call.
 */
#ifndef FUNAD_H
#define FUNAD_H

#include <glib.h>

G_BEGIN_DECLS

/* Version of the model file layout written by this library (metadata key "format_version"). */
#define FUNAD_FORMAT_VERSION 1

/* Threads a scorer or the trainer may be given, at most (the element's n-threads range). */
#define FUNAD_MAX_THREADS 64

#define FUNAD_ERROR (funad_error_quark ())
GQuark funad_error_quark (void);

typedef enum {
  FUNAD_ERROR_IO,        /* a file could not be read or written */
  FUNAD_ERROR_CORRUPT,   /* a model file is malformed: lengths, offsets, dtypes, shapes */
  FUNAD_ERROR_VERSION,   /* a model file of another format version or backbone */
  FUNAD_ERROR_INPUT,     /* an unusable frame or argument */
  FUNAD_ERROR_TRAIN,     /* training could not run (too few frames, ...) */
  FUNAD_ERROR_CANCELLED  /* training was cancelled */
} FunadError;

/* An 8-bit interleaved frame: grey (pixel_stride 1, all offsets 0) or packed RGB-like formats
 * (pixel_stride 3 or 4, offsets give where R, G and B sit inside a pixel). Functions that only
 * read a frame take it const; funad_heatmap_blend() writes into data. */
typedef struct {
  guint8 *data;
  int width, height;
  int stride;        /* bytes from one row to the next */
  int pixel_stride;  /* bytes from one pixel to the next: 1, 3 or 4 */
  int r_offset, g_offset, b_offset;
} FunadImage;

/* ---- model ------------------------------------------------------------------------------ */

typedef struct _FunadModel FunadModel;

/* Loads a model file (safetensors). Every length, offset, dtype and shape is checked; on
 * failure returns NULL and an error whose message names the file and the problem. */
FunadModel *funad_model_load (const char *path, GError **error);

/* Writes the model atomically: to a temporary file beside path, then renamed over it. */
gboolean funad_model_save (const FunadModel *model, const char *path, GError **error);

FunadModel *funad_model_ref (FunadModel *model);
void funad_model_unref (FunadModel *model);

/* Side of the square frame the model looks at (e.g. 224) and of its patch grid (e.g. 28). */
int funad_model_input_size (const FunadModel *model);
int funad_model_grid_size (const FunadModel *model);
/* What the model's backbone reads: 3, colour (pretrained backbones: a frame should reach it as
 * RGB, since a grey frame gives it three equal planes); 1, grey (builtin). */
int funad_model_channels (const FunadModel *model);
/* The label-free anomaly threshold chosen at training time, on the frame score scale. */
double funad_model_threshold (const FunadModel *model);
/* A string from the file's __metadata__ (e.g. "backbone", "training_summary"), or NULL. */
const char *funad_model_get_metadata (const FunadModel *model, const char *key);

/* ---- scoring ---------------------------------------------------------------------------- */

typedef struct _FunadScorer FunadScorer;

FunadScorer *funad_scorer_new (FunadModel *model);  /* takes its own reference on model */
void funad_scorer_free (FunadScorer *scorer);
FunadModel *funad_scorer_get_model (FunadScorer *scorer);
/* Threads that score each frame. 0 (the default): the calling thread, with OpenBLAS's own
 * threads inside the matrix products. n >= 1: the frame is cut into n bands scored at once by
 * the scorer's own threads, and OpenBLAS is made single-threaded for the whole process (so
 * that several scorers, one per stream, never queue for its pool). A pretrained backbone is
 * not cut into bands: each of its layers is shared among the same threads instead. Call
 * before scoring, not during. More than FUNAD_MAX_THREADS is a critical, the threads as they
 * were. */
void funad_scorer_set_threads (FunadScorer *scorer, int n_threads);
/* One per core this process may use (its CPU affinity and any cgroup CPU quota), at most 8:
 * the threads funaddetect's n-threads=0 (its default), funad-eval and
 * funad-review score with. The same count cuts a frame the same way, so on one machine (under one quota) they
 * give a frame the same score to the bit (other counts split the matrix products
 * differently: about 1e-4 apart). */
int funad_scorer_auto_threads (void);

/* Scores one frame of any size. *score receives the frame score (maximum of the map); if map
 * is not NULL it receives the anomaly map, input_size x input_size floats owned by the scorer
 * and valid until its next call. Returns FALSE (FUNAD_ERROR_INPUT) for an unusable frame. */
gboolean funad_scorer_score (FunadScorer *scorer, const FunadImage *image, float *score,
                             const float **map, GError **error);

/* Bilinear resize of a float map (pixel centres aligned), e.g. to a frame or mask size. */
void funad_map_resize (const float *src, int src_w, int src_h, float *dst, int dst_w, int dst_h);

/* ---- heat map --------------------------------------------------------------------------- */

/* Blends a coloured heat map over image in place. map is map_w x map_h (any size; sampled
 * bilinearly over the whole frame). A map value v becomes heat h = (v - lo) / (hi - lo), clamped
 * to [0, 1]; pixels with h == 0 are left untouched, others are mixed with the colour map at
 * opacity alpha * (0.35 + 0.65 h). On grey frames (pixel_stride 1) the colour's luminance is
 * used. image must have a layout funad_scorer_score() takes (pixel stride 1, 3 or 4, offsets
 * within the pixel, row stride at least width x pixel stride); any other is a critical, and
 * nothing is drawn. */
void funad_heatmap_blend (const float *map, int map_w, int map_h, float lo, float hi,
                          float alpha, FunadImage *image);

/* The colour (sRGB) the heat map gives heat h in [0, 1]. */
void funad_heatmap_color (float h, guint8 rgb[3]);

/* Perceptually uniform colour maps for the heat map; funad_heatmap_blend() and
 * funad_heatmap_color() use inferno. */
typedef enum {
  FUNAD_COLORMAP_INFERNO,
  FUNAD_COLORMAP_VIRIDIS
} FunadColormap;

/* The colour (sRGB) colormap gives heat h in [0, 1]. */
void funad_colormap_color (FunadColormap colormap, float h, guint8 rgb[3]);

/* funad_heatmap_blend() with the given colour map. */
void funad_heatmap_blend_colormap (FunadColormap colormap, const float *map, int map_w,
                                   int map_h, float lo, float hi, float alpha,
                                   FunadImage *image);

/* ---- training --------------------------------------------------------------------------- */

/* How patches are scored. FUN-AD trains a discriminator on pseudo-labels; the memory bank
 * scores a patch by its distance to the nearest of a bounded set of training patches, with
 * outliers of the training set itself removed first (no labels needed). */
typedef enum {
  FUNAD_SCORER_MEMORY_BANK,
  FUNAD_SCORER_FUNAD
} FunadScorerKind;

typedef struct {
  FunadScorerKind scorer;
  int input_size;        /* frames are resized to input_size x input_size (multiple of 8) */
  guint64 seed;          /* same frames + seed + n_threads give a byte-identical model */
  int n_threads;         /* 0 to 64; 0: OpenBLAS's count as it stands (all cores, lowered
                          * to a cgroup CPU quota; unless a scorer with threads of its own
                          * made it 1 in this process: then give n) */

  /* builtin backbone: whitened 7x7 patch dictionary at scales 1 and 1/2 */
  int dict_size;         /* k-means centroids per scale */
  int n_scales;          /* 1 to 3 */
  int neighbourhood;     /* builtin: a patch's features are averaged over the grid cells
                          * within this many cells (0: the patch alone) */
  int fit_patches;       /* patches sampled to fit whitening and k-means (builtin), or the PCA
                          * of a pretrained backbone's features */
  int feature_dim;       /* pretrained backbones: features per patch at most; wider stages
                          * (resnet50: 1536) are reduced by a PCA fitted on the training frames */

  /* FUN-AD scorer: adaptor D->D, discriminator D->hidden1->hidden2->1 */
  int hidden1, hidden2;

  /* FUN-AD loop */
  int epochs;            /* upper bound; the label-free stopping rule may end sooner */
  int batch_images;      /* images per step */
  int patches_per_image; /* patches sampled from each batch image per step */
  int bank_per_image;    /* adapted patches each confident-normal image gives the memory bank */
  float learning_rate;
  float smooth_weight;   /* weight of the mutual-smoothness loss (2.5 in the paper) */
  gboolean use_irmb;     /* rebuild the bank from confident normals (else: all images) */
  gboolean use_synthetic;/* Gaussian synthetic anomalies in the ambiguous band, and: */
  float synthetic_fraction; /* this share of the patches labelled normal also made anomalous by
                          * Gaussian noise (SimpleNet's synthetic anomalies; 0: the band only) */
  float synthetic_scale; /* their noise, in units of the batch's per-dimension sigma */
  gboolean use_smoothness;
  gboolean use_teacher;  /* IRMB starts from the images the memory bank's rule keeps
                          * (appearance_z, typical_z; both 0: a provisional bank's
                          * leave-own-image-out scores) and keeps candidates by a robust rule
                          * (else: as the reference) */
  float pseudo_label_z;  /* with the teacher: pseudo-anomalies only in the frames it left out,
                          * the patches whose distance to the IRMB is above robust z this within
                          * their frame; 0 (or no frame left out): the reference's rule,
                          * normalised distance above 0.5 in every frame */

  /* memory-bank scorer */
  int bank_size;         /* upper bound on the patches kept */
  gboolean calibrate;    /* per-cell robust z-scores of patch scores, fitted on the training
                          * frames (calibration.c) */
  float outlier_z;       /* drop training patches whose leave-own-image-out distance has a
                          * robust z-score above this; 0 keeps every patch */
  float typical_z;       /* leave out of the bank training images whose own score (against a
                          * provisional bank, neighbours left out) has a robust z-score above
                          * this; 0: not used */
  float appearance_z;    /* and those whose appearance (block by block, against the other
                          * images': appearance.c) has a robust z-score above this; 0: not
                          * used */
  int appearance_rounds; /* the kept images compared again among themselves, against the first
                          * cut, up to this many rounds in all (1: once) */
  float appearance_weight; /* every scored frame's appearance (block by block against the
                          * images the bank was built from or FUN-AD's teacher kept:
                          * appearance.c) as a robust z, times this, is added to its patch
                          * scores; 0: patch scores alone */
  float bank_floor;      /* the images appearance_z's first cut leaves out stay in the bank, but
                          * a bank row of an image whose appearance z is above bank_floor_z
                          * scores at least bank_floor x (z - bank_floor_z) typical patch
                          * distances; 0 (or a typical distance of 0): they are left out */
  float bank_floor_z;    /* the appearance z where the floor starts */
} FunadTrainParams;

FunadTrainParams funad_train_default_params (void);
/* Whether every parameter is in range (FUNAD_ERROR_INPUT, one line, when not). The trainer
 * checks them again on every frame added and at the run. */
gboolean funad_train_params_check (const FunadTrainParams *params, GError **error);

typedef struct _FunadTrainer FunadTrainer;

/* Called from funad_trainer_run() as it goes: stage is a short word ("features", "train"). */
typedef void (*FunadProgressFunc) (const char *stage, int done, int total, const char *detail,
                                   gpointer user_data);

FunadTrainer *funad_trainer_new (const FunadTrainParams *params);
void funad_trainer_free (FunadTrainer *trainer);
/* Chooses the backbone before any frame is added: "builtin" (the default, learned from the
 * frames) or a pretrained one ("mobilenetv2_100", "resnet18", "resnet34", "resnet50",
 * "wide_resnet50_2") with its timm-layout safetensors weights file, which is read and checked
 * now. The model records the file's path, size and SHA-256, and funad_model_load() refuses it
 * when that file is missing or different (a moved file is looked for in $FUNAD_WEIGHTS_DIR). */
gboolean funad_trainer_set_backbone (FunadTrainer *trainer, const char *name,
                                     const char *weights, GError **error);
/* Preprocesses and keeps one training frame (any size, grey or colour). FALSE: an unusable
 * frame (FUNAD_ERROR_INPUT), or the trainer holds as many frames as it can at this size (about
 * 16 GB of them; FUNAD_ERROR_TRAIN), when every later frame is refused the same way. */
gboolean funad_trainer_add_frame (FunadTrainer *trainer, const FunadImage *image, GError **error);
int funad_trainer_n_frames (const FunadTrainer *trainer);
/* Learns the backbone, trains the scorer and returns the new model (or NULL and an error). */
FunadModel *funad_trainer_run (FunadTrainer *trainer, FunadProgressFunc progress,
                               gpointer user_data, GError **error);
/* Asks a running funad_trainer_run() to stop soon; it then fails with FUNAD_ERROR_CANCELLED.
 * Made while no run is in progress, it stops the next run at once. Every run clears it when it
 * returns: the same trainer, its frames still held, can be run again. */
void funad_trainer_cancel (FunadTrainer *trainer);

/* ---- metrics ---------------------------------------------------------------------------- */

/* Area under the ROC curve of scores against 0/1 labels, ties counted half (Mann-Whitney).
 * Returns NAN when either class is empty. */
double funad_auroc (const float *scores, const guint8 *labels, gsize n);

/* Labels the 8-connected regions of non-zero pixels of a width x height mask: regions[i] is 0
 * outside them and first_id, first_id + 1, ... inside (first_id >= 1). Returns how many. */
guint funad_label_regions (const guint8 *mask, int width, int height, guint32 *regions,
                           guint32 first_id);

/* AUPRO: the area under the per-region-overlap curve over the false positive rate, from 0 to
 * max_fpr (0.3 is usual), divided by max_fpr, so 1 is perfect. regions[i] names the defect
 * region of pixel i (0: normal pixel; ids unique across images, as funad_label_regions gives
 * with offsets); a pixel counts as flagged at threshold t when scores[i] >= t. Returns NAN
 * when there is no region or no normal pixel. */
double funad_aupro (const float *scores, const guint32 *regions, gsize n, double max_fpr);

/* The best F1 over all thresholds (flag score >= t), and in *threshold (may be NULL) the t
 * that reaches it. Returns NAN when no label is positive. */
double funad_f1_max (const float *scores, const guint8 *labels, gsize n, float *threshold);

/* Precision, recall and F1 of flagging score > threshold (funaddetect's rule). Precision is
 * NAN when nothing is flagged, recall and F1 when no label is positive. Outputs may be NULL. */
void funad_detection_at (const float *scores, const guint8 *labels, gsize n, double threshold,
                         double *precision, double *recall, double *f1);

G_END_DECLS

#endif /* FUNAD_H */
