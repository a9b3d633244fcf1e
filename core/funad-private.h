/* funad-private.h — internal interfaces of libfunad, shared by its files and its unit tests.
 * Not installed. Row-major float matrices throughout. */
#ifndef FUNAD_PRIVATE_H
#define FUNAD_PRIVATE_H

#include "funad.h"

G_BEGIN_DECLS

/* ---- error.c ------------------------------------------------------------------------------ */
/* An error is one line: text quoted from a file (a JSON parser's message, a metadata value)
 * may hold newlines or other control characters; they become spaces. */
void funad_error_one_line (GError **error);

/* ---- trainer.c ---------------------------------------------------------------------------- */
/* The most floats a trainer's frames may take, G_MAXUINT (a GArray's length is 32-bit; 16 GB):
 * beyond it funad_trainer_add_frame() refuses every frame with FUNAD_ERROR_TRAIN. A lower one
 * lets a test reach the limit with a few frames. */
void funad_trainer_set_max_values (FunadTrainer *trainer, gsize max_values);

/* ---- preprocess.c: any frame -> grey float [0,255] of size x size, area-averaged ---------- */
gboolean funad_preprocess (const FunadImage *image, int size, float *out, GError **error);
/* The same for colour: 3 planes (R, G, B) of size x size, values [0,255]; grey frames give
 * three equal planes. */
gboolean funad_preprocess_rgb (const FunadImage *image, int size, float *out, GError **error);

/* ---- irmb.c: the IRMB's candidate normals and pseudo-labels -------------------------------- */
/* Candidate normals from image scores: robust, scores at most median + z x 1.4826 x MAD;
 * otherwise the reference's rule, min-max-normalised score below 0.5 (all when the scores are
 * equal). Fewer than funad_irmb_min_candidates (n) falls back to the scores at most the
 * median, so the bank is never starved. */
void funad_irmb_candidates (const float *scores, int n, gboolean robust, double z,
                            gboolean *candidate);
int funad_irmb_min_candidates (int n);
/* Pseudo-labels of `frames` x `per` sampled patches from their distances to the bank (inf:
 * no neighbour outside their own frame). kept NULL: the reference's rule, (d - lo) / (hi - lo)
 * above 0.5. Otherwise gated: none in a frame the teacher kept (kept[b]); in the others, the
 * finite distances above median + z x 1.4826 x MAD of the frame's own finite distances. */
void funad_irmb_pseudo_labels (const float *dist, int frames, int per, float lo, float hi,
                               const gboolean *kept, float z, guint8 *label);

/* ---- cpu-quota.c: the cores a cgroup's CPU quota leaves this process ----------------------- */
/* Cores a cgroup v2 cpu.max text grants ("200000 100000": 2), 0 for "max" or unreadable. */
double funad_cpu_quota_parse_v2 (const char *cpu_max);
/* The same from v1's cpu.cfs_quota_us and cpu.cfs_period_us texts (a quota of -1: 0). */
double funad_cpu_quota_parse_v1 (const char *quota_us, const char *period_us);
/* The smallest CPU quota along the process's cgroups, v2 or v1, from the texts of
 * /proc/self/mountinfo and /proc/self/cgroup, the mount points read under prefix (NULL: "/";
 * tests build a tree elsewhere); 0 when none is set. */
double funad_cpu_quota_find (const char *mountinfo, const char *proc_self_cgroup,
                             const char *prefix);
/* Processors this process may run on (its affinity), lowered to a CPU quota rounded down;
 * at least 1. */
int funad_available_cores (void);

/* ---- workers.c: fork-join over a scorer's own threads ------------------------------------ */
/* Does part `part` of n_parts of a job. */
typedef void (*FunadPartFunc) (gpointer data, int part, int n_parts);
typedef struct _FunadWorkers FunadWorkers;
FunadWorkers *funad_workers_new (int n_threads);
void funad_workers_free (FunadWorkers *workers);
int funad_workers_n_threads (const FunadWorkers *workers);
/* Runs func on every part at once (part 0 in the calling thread); returns when all are done.
 * NULL workers: the whole job as part 0 of 1, in the calling thread. */
void funad_workers_run (FunadWorkers *workers, FunadPartFunc func, gpointer data);

/* ---- linalg.c ---------------------------------------------------------------------------- */
/* C (m x n) = alpha * A (m x k) * B^T (n x k) + beta * C. */
void funad_gemm_nt (int m, int n, int k, float alpha, const float *a, const float *b, float beta,
                    float *c);
/* C (m x n) = alpha * A (m x k) * B (k x n) + beta * C. */
void funad_gemm_nn (int m, int n, int k, float alpha, const float *a, const float *b, float beta,
                    float *c);
/* The same with leading dimensions: rows of A, B and C lie lda, ldb and ldc floats apart. */
void funad_gemm_nn_ld (int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                       int ldb, float beta, float *c, int ldc);
/* C (m x n) = alpha * A^T (k x m)^T * B (k x n) + beta * C. */
void funad_gemm_tn (int m, int n, int k, float alpha, const float *a, const float *b, float beta,
                    float *c);
/* Eigen-decomposition of a symmetric n x n matrix: a is replaced by the eigenvectors (row i of
 * the result is eigenvector i), eval by the eigenvalues in ascending order. */
gboolean funad_sym_eigen (float *a, int n, float *eval);
/* OpenBLAS's threads: n_threads > 0 sets them (0 keeps them), get says how many. */
void funad_set_threads (int n_threads);
int funad_get_threads (void);

/* ---- knn.c: exact k nearest neighbours by sgemm (|q|^2 + |r|^2 - 2 q.r) ------------------ */
/* out[i] = |x_i|^2 for the n rows of x. */
void funad_squared_norms (const float *x, int n, int d, float *out);
/* For each of the nq query rows, the k smallest squared distances to the nr reference rows
 * (ascending) and their indices. When q_group and r_group are given, reference j is skipped
 * for query i if |q_group[i] - r_group[j]| <= exclude_within (0: leave-own-image-out; pass
 * row indices to skip self; more: also the neighbouring frames of a video). Missing
 * neighbours get distance +inf and index -1. */
void funad_knn (const float *q, int nq, const float *r, int nr, int d, int k,
                const int *q_group, const int *r_group, int exclude_within, float *dist,
                int *index);
/* Pairs (i < j) of rows that are each other's nearest neighbour. Returns the pair count;
 * pair_i/pair_j must hold n entries. */
/* The same with the reference rows' squared norms given (rn: nr of them), for a reference
 * searched again and again. */
void funad_knn_normed (const float *q, int nq, const float *r, const float *rn, int nr, int d,
                       int k, const int *q_group, const int *r_group, int exclude_within,
                       float *dist, int *index);
int funad_mutual_pairs (const float *x, int n, int d, int *pair_i, int *pair_j);

/* ---- kmeans.c ---------------------------------------------------------------------------- */
void funad_kmeans (const float *x, int n, int d, int k, int iterations, GRand *rng,
                   float *centroids);
/* Lloyd iterations only, from the centroids given (k-means++ seeding costs n*k*d scalar
 * operations, too slow for large k). */
void funad_kmeans_lloyd (const float *x, int n, int d, int k, int iterations,
                         float *centroids);

/* ---- backbone-builtin.c: whitened patch dictionary, triangle encoding, pooled ------------- */
#define FUNAD_BUILTIN_PATCH 7
#define FUNAD_BUILTIN_PDIM (FUNAD_BUILTIN_PATCH * FUNAD_BUILTIN_PATCH)
#define FUNAD_MAX_SCALES 3
#define FUNAD_MAX_NEIGHBOURHOOD 4

typedef struct {
  int input_size, grid, n_scales, dict_size, dim;
  int neighbourhood;                   /* each cell's features become the mean over the cells
                                        * within this many cells of it (0: none) */
  float *zca_mean[FUNAD_MAX_SCALES];   /* PDIM */
  float *zca[FUNAD_MAX_SCALES];        /* PDIM x PDIM, z = W (x - mean) */
  float *centroids[FUNAD_MAX_SCALES];  /* dict_size x PDIM */
  float *feat_mean, *feat_std;         /* dim: features are standardised with these */
} FunadBuiltin;

void funad_builtin_init (FunadBuiltin *bb, int input_size, int n_scales, int dict_size);
void funad_builtin_clear (FunadBuiltin *bb);
/* Learns whitening and dictionaries from n preprocessed images (size x size each). Leaves
 * feat_mean = 0, feat_std = 1; the caller sets them from the features. */
void funad_builtin_fit (FunadBuiltin *bb, const float *images, int n, int n_patches, GRand *rng);
/* grid*grid x dim features of one preprocessed image. */
void funad_builtin_features (const FunadBuiltin *bb, const float *image, float *out);
/* The same for grid rows gy0..gy1-1 only (the rest of out is left alone), before the
 * neighbourhood mean: bands of one frame can be encoded in parallel, then aggregated. */
void funad_builtin_features_rows (const FunadBuiltin *bb, const float *image, int gy0, int gy1,
                                  float *out);
/* The neighbourhood mean over the whole grid (grid*grid x dim, in place). */
void funad_builtin_aggregate (const FunadBuiltin *bb, float *features);
gsize funad_builtin_flops (const FunadBuiltin *bb);

/* ---- safetensors.c: the checked safetensors reader (model files and pretrained weights) ---- */
#define FUNAD_SAFETENSORS_MAX_DIMS 4
typedef struct _FunadSafetensors FunadSafetensors;

/* Reads and parses path; what ("model file", "weights file") starts every error message. */
FunadSafetensors *funad_safetensors_open (const char *path, const char *what, GError **error);
void funad_safetensors_free (FunadSafetensors *st);
const char *funad_safetensors_path (const FunadSafetensors *st);
gsize funad_safetensors_size (const FunadSafetensors *st);
char *funad_safetensors_sha256 (const FunadSafetensors *st);
/* __metadata__ as string -> string (empty when absent, *present FALSE); NULL and an error when
 * it is not an object of strings. */
GHashTable *funad_safetensors_metadata (const FunadSafetensors *st, gboolean *present,
                                        GError **error);
guint funad_safetensors_n_tensors (const FunadSafetensors *st);
/* Shape of a tensor, its entry checked (F32, offsets inside the data, length = shape). */
gboolean funad_safetensors_shape (const FunadSafetensors *st, const char *name, int *ndim,
                                  gint64 *shape, GError **error);
/* Whether the tensor exists, is valid and has exactly this shape (check before allocating). */
gboolean funad_safetensors_check (const FunadSafetensors *st, const char *name, int ndim,
                                  const gint64 *shape, GError **error);
/* Reads a tensor that must have exactly this shape and finite values into out. */
gboolean funad_safetensors_read (const FunadSafetensors *st, const char *name, int ndim,
                                 const gint64 *shape, float *out, GError **error);
/* Sets error to "<what> '<path>': <message>". */
void funad_safetensors_fail (const FunadSafetensors *st, GError **error, int code,
                             const char *fmt, ...) G_GNUC_PRINTF (4, 5);

/* ---- conv.c: convolution layers (C x H x W maps), BatchNorm folded in at load -------------- */
typedef enum { FUNAD_ACT_NONE, FUNAD_ACT_RELU, FUNAD_ACT_RELU6 } FunadActivation;

typedef struct {
  int in, out, k, stride, pad, groups;  /* groups: 1, or in for a depthwise convolution */
  float *weight;                        /* out x (in / groups) x k x k */
  float *bias;                          /* out */
} FunadConv;

/* Loads conv.weight and bn.{weight,bias,running_mean,running_var}, checks every shape (out <= 0:
 * the width is read from the file) and folds the BatchNorm in. Padding is k / 2. */
gboolean funad_conv_load (FunadConv *c, const FunadSafetensors *st, const char *conv,
                          const char *bn, int in, int out, int k, int stride, gboolean depthwise,
                          GError **error);
void funad_conv_fold_bn (FunadConv *c, const float *gamma, const float *beta, const float *mean,
                         const float *var);
void funad_conv_clear (FunadConv *c);
int funad_conv_out_side (const FunadConv *c, int side);
gsize funad_conv_scratch (const FunadConv *c, int h, int w);
gsize funad_conv_flops (const FunadConv *c, int h, int w);
/* out = act(conv(in) + bias [+ residual]); scratch holds funad_conv_scratch() floats. With
 * workers, every worker takes a part (the sgemm then should run on one thread: see
 * funad_scorer_set_threads()); NULL: the calling thread does it all. */
void funad_conv_forward (const FunadConv *c, const float *in, int h, int w, float *out,
                         FunadActivation act, const float *residual, float *scratch,
                         FunadWorkers *workers);
/* The same into a new buffer; *h, *w become the output's size. */
float *funad_conv_apply (const FunadConv *c, const float *in, int *h, int *w,
                         FunadActivation act, const float *residual, FunadWorkers *workers);

/* ---- backbone-mobilenetv2.c, backbone-resnet.c: pretrained trunks ------------------------- */
#define FUNAD_NET_MAX_STAGES 3
typedef struct _FunadNet FunadNet;
struct _FunadNet {
  int n_stages;                          /* feature stages the forward pass returns */
  int channels[FUNAD_NET_MAX_STAGES];
  int stride[FUNAD_NET_MAX_STAGES];      /* 8 or 16 */
  /* image: 3 x h x w, normalised. stage[s] receives a new channels[s] x stage_h x stage_w map.
   * workers: as funad_conv_forward(). */
  void (*forward) (const FunadNet *net, const float *image, int h, int w, float **stage,
                   int *stage_h, int *stage_w, FunadWorkers *workers);
  gsize (*flops) (const FunadNet *net, int h, int w);
  void (*free) (FunadNet *net);
};

FunadNet *funad_mobilenetv2_load (const FunadSafetensors *st, GError **error);
gboolean funad_resnet_known (const char *name);
FunadNet *funad_resnet_load (const FunadSafetensors *st, const char *name, GError **error);

/* ---- backbone.c: one interface over the builtin and the pretrained backbones -------------- */
typedef struct {
  char *name;                /* "builtin", "mobilenetv2_100", "resnet18", ... */
  int input_size, grid;
  int channels;              /* of the preprocessed input: 1 (grey) or 3 (RGB planes) */
  int dim;                   /* features per patch */
  int raw_dim;               /* pretrained: the stages' channels, concatenated */
  FunadBuiltin builtin;      /* name "builtin" */
  /* pretrained */
  FunadNet *net;
  char *weights_path, *weights_sha256;
  gint64 weights_size;
  float input_mean[3], input_std[3];  /* input (x / 255 - mean) / std, per channel */
  /* when raw_dim > dim: features are (raw - pca_mean) projected on the rows of projection
   * (dim x raw_dim), the raw features' leading principal directions fitted at training */
  float *pca_mean, *projection;
  /* features are standardised with these (dim each); for builtin they are builtin's own */
  float *feat_mean, *feat_std;
} FunadBackbone;

/* Whether this build can run a backbone of that name. */
gboolean funad_backbone_known (const char *name);
void funad_backbone_init_builtin (FunadBackbone *bb, int input_size, int n_scales,
                                  int dict_size);
/* Loads a pretrained backbone's weights; with expect_size > 0 and expect_sha256, refuses a file
 * of another size or checksum. The input normalisation is read from the weights' metadata
 * (an "input" of [-1,1]: x / 127.5 - 1), else ImageNet's mean and std. */
gboolean funad_backbone_init_pretrained (FunadBackbone *bb, const char *name,
                                         const char *weights, int input_size,
                                         gint64 expect_size, const char *expect_sha256,
                                         GError **error);
/* Keeps at most max_dim features per patch: beyond, a PCA fitted by funad_backbone_fit(). */
void funad_backbone_set_max_dim (FunadBackbone *bb, int max_dim);
void funad_backbone_clear (FunadBackbone *bb);
/* Floats of one preprocessed image: channels x input_size^2. */
gsize funad_backbone_image_floats (const FunadBackbone *bb);
gboolean funad_backbone_preprocess (const FunadBackbone *bb, const FunadImage *image, float *out,
                                    GError **error);
/* Learns what the backbone learns from n preprocessed training images (builtin: whitening and
 * dictionaries; pretrained: the PCA, when it reduces the features). */
void funad_backbone_fit (FunadBackbone *bb, const float *images, int n, int n_patches,
                         GRand *rng);
/* grid*grid x dim standardised features of one preprocessed image. A pretrained backbone
 * shares its layers among workers when given them (NULL: the calling thread alone, with
 * OpenBLAS's own threads); the builtin one is banded by the caller instead. */
void funad_backbone_features (const FunadBackbone *bb, const float *image, float *out,
                              FunadWorkers *workers);
/* Whether grid rows can be computed apart (builtin), and rows gy0..gy1-1 of the features. */
gboolean funad_backbone_banded (const FunadBackbone *bb);
/* After every band of funad_backbone_features_rows(): what needs the whole grid. */
void funad_backbone_features_finish (const FunadBackbone *bb, float *out);
void funad_backbone_features_rows (const FunadBackbone *bb, const float *image, int gy0,
                                   int gy1, float *out);
gsize funad_backbone_flops (const FunadBackbone *bb);
/* The pretrained part: stage maps, each 3x3 averaged (as PatchCore) and bilinearly resized to
 * the grid, concatenated: grid*grid x raw_dim, not reduced, not standardised. */
void funad_pretrained_patch_features (const FunadBackbone *bb, const float *image, float *out,
                                      FunadWorkers *workers);

/* ---- mlp.c: the FUN-AD scorer: adaptor D->D, discriminator D->H1->H2->1 -------------------- */
#define FUNAD_MLP_LAYERS 4
#define FUNAD_LEAKY_SLOPE 0.2f

typedef struct {
  int dims[FUNAD_MLP_LAYERS + 1];   /* D, D, H1, H2, 1 */
  gsize n_params;
  float *params;                    /* all weights and biases, contiguous */
  float *w[FUNAD_MLP_LAYERS];       /* views into params: out x in */
  float *b[FUNAD_MLP_LAYERS];       /* views into params: out */
} FunadMlp;

/* Activations of one forward pass over n rows, kept for the backward pass. */
typedef struct {
  int n, capacity;
  float *pre[FUNAD_MLP_LAYERS];     /* before the activation; pre[3] is the logit */
  float *act[FUNAD_MLP_LAYERS];     /* act[0] is the adapted feature a; act[3] the score s */
} FunadMlpCache;

void funad_mlp_init (FunadMlp *mlp, int dim, int hidden1, int hidden2);
void funad_mlp_randomize (FunadMlp *mlp, GRand *rng);
void funad_mlp_clear (FunadMlp *mlp);
void funad_mlp_cache_clear (FunadMlpCache *cache);
void funad_mlp_forward (const FunadMlp *mlp, const float *x, int n, FunadMlpCache *cache);
/* The adaptor alone: out = a = LeakyReLU(W0 x + b0), n x D (as act[0] of a forward pass). */
void funad_mlp_adaptor (const FunadMlp *mlp, const float *x, int n, float *out);
/* Given dL/dlogit per row, accumulates dL/dparams into grad (n_params, same layout). */
void funad_mlp_backward (const FunadMlp *mlp, const float *x, const FunadMlpCache *cache,
                         const float *dlogit, float *grad);

typedef struct {
  float *m, *v;
  gsize n;
  int t;
  float lr, beta1, beta2, eps;
} FunadAdam;
void funad_adam_init (FunadAdam *adam, gsize n, float lr);
void funad_adam_clear (FunadAdam *adam);
void funad_adam_step (FunadAdam *adam, float *params, const float *grad);

/* ---- losses.c: FUN-AD's loss terms on logits; each adds its gradient to dlogit ------------ */
/* Mean BCE over label-1 rows + mean BCE over label-0 rows (a missing class adds nothing). */
double funad_balanced_bce (const float *logit, const guint8 *label, int n, float *dlogit);
/* weight * mean over pairs of |s_i - s_j| / 2, with s = sigmoid(logit). */
double funad_mutual_smoothness (const float *logit, const int *pair_i, const int *pair_j,
                                int n_pairs, float weight, float *dlogit);

/* ---- bank-index.c: inverted-file index over the memory bank --------------------------- */
#define FUNAD_BANK_DEFAULT_PROBES 16
typedef struct {
  int n_cells, n_probe, dim;
  float *centroids, *centroid_norms;  /* n_cells x dim, n_cells */
  int *cell_start;                    /* n_cells + 1: cell c holds rows [start[c], start[c+1]) */
  float *rows, *row_norms;            /* the bank, sorted by cell, and its squared norms plus
                                       * each row's floor squared */
} FunadBankIndex;

/* Probes per patch: FUNAD_BANK_DEFAULT_PROBES, or $FUNAD_BANK_PROBES (0: exact search). */
int funad_bank_index_default_probes (void);
/* floor: per row, the least distance the row scores (NULL: none; see funad_bank_row_norms).
 * NULL when the bank is too small for an index to pay, or n_probe is 0. */
FunadBankIndex *funad_bank_index_new (const float *bank, const float *floor, int rows, int dim,
                                      int n_probe);
void funad_bank_index_free (FunadBankIndex *index);
/* Squared distance of each of nq patches to its nearest row among the probed cells (+inf for
 * none). Returns the flops spent. */
double funad_bank_index_search (const FunadBankIndex *index, const float *q, int nq,
                                float *dist);

/* ---- model.c ----------------------------------------------------------------------------- */
/* The frames a model trusts as normal, as blocks' looks, and how far a frame's looks lie from
 * theirs as a robust z; weight x z is added to every patch score of the frame. */
#define FUNAD_APPEARANCE_MAX_FRAMES 1024  /* reference frames kept in a model, at most */
#define FUNAD_MAX_APPEARANCE_WEIGHT 100.f  /* the trainer's and the loader's limit */
#define FUNAD_MAX_BANK_FLOOR 100.f  /* bank_floor, in typical patch distances per z */
typedef struct {
  int n_frames, n_blocks, dim;  /* n_frames 0: no appearance term */
  float *mean, *std;            /* dim: looks are standardised with these (std 0: zeroed) */
  float *looks;                 /* n_blocks x n_frames x dim */
  float *norms;                 /* n_blocks x n_frames: |look|^2 (funad_appearance_ready) */
  float median, scale, weight;  /* z = (distance - median) / scale */
} FunadAppearance;
struct _FunadModel {
  gint ref_count;
  int input_size, grid;
  double threshold;
  GHashTable *metadata;             /* string -> string, as in the file's __metadata__ */
  FunadBackbone backbone;
  FunadScorerKind scorer;
  FunadMlp mlp;                     /* FUNAD_SCORER_FUNAD */
  gboolean logit_scores;            /* FUN-AD patch scores are logits (older files: sigmoids) */
  float *bank;                      /* FUNAD_SCORER_MEMORY_BANK: bank_rows x dim */
  int bank_rows;
  float *bank_floor;                /* per bank row, the least distance it scores (NULL: 0) */
  float *cell_offset, *cell_scale;  /* grid^2 each, or NULL: patch scores as they are */
  FunadAppearance appearance;       /* the frame's appearance term (n_frames 0: none) */
  gsize bank_index_once;            /* funad_model_bank_index() builds it on first use */
  FunadBankIndex *bank_index;
};

FunadModel *funad_model_new_empty (void);
void funad_model_set_metadata (FunadModel *model, const char *key, const char *value);
/* The memory bank's index, built on first use (thread-safe); NULL: search the bank exactly. */
const FunadBankIndex *funad_model_bank_index (const FunadModel *model);
/* Drops the index after the bank changed (training only, before the model is shared). */
void funad_model_reset_bank_index (FunadModel *model);
float funad_map_blur_sigma (int input_size);
/* Patch scores (grid x grid) -> map (size x size): bilinear upsample, Gaussian blur. Returns the
 * map maximum. tmp holds size*size floats. */
float funad_patch_scores_to_map (const float *patch_scores, int grid, int size, float *map,
                                 float *tmp);

/* ---- scorer.c: where a frame's time goes (funad-bench) ---------------------------------- */
typedef enum {
  FUNAD_STAGE_PREPROCESS, FUNAD_STAGE_BACKBONE, FUNAD_STAGE_SCORER, FUNAD_STAGE_MAP,
  FUNAD_N_STAGES
} FunadStage;
/* Milliseconds the last funad_scorer_score() spent in each stage. */
void funad_scorer_stage_times (const FunadScorer *scorer, double ms[FUNAD_N_STAGES]);
/* Floating-point operations per frame in the backbone and in the scorer. */
void funad_model_frame_flops (const FunadModel *model, double *backbone, double *scorer);

/* ---- coreset.c --------------------------------------------------------------------------- */
/* Greedy k-center selection of up to k of the n rows; when group is given, at most group_cap
 * rows of any one group. Writes the chosen row indices in order and returns their count. When
 * *cancel (may be NULL) turns non-zero it stops early, with fewer rows. */
int funad_coreset_select (const float *x, int n, int d, int k, const int *group, int group_cap,
                          GRand *rng, const gint *cancel, int *selected);

/* ---- memory-bank.c ----------------------------------------------------------------------- */
/* Patch score of a patch with no usable neighbour: far above any real distance, finite. */
#define FUNAD_SCORE_UNREACHABLE 1e30f

/* Builds the bank from n images' features (image images[i], or i when images is NULL, of
 * features, each P x D): per-image quotas, then patches whose leave-own-image-out distance
 * marks them as outliers of the training set are dropped. Returns the image (0..n-1, an index
 * into images) each bank row came from (free with g_free). cancel: as funad_coreset_select's. */
int *funad_memory_bank_build (FunadModel *model, const float *features, const int *images,
                              int n, int P, int bank_size, float outlier_z, GRand *rng,
                              const gint *cancel);
/* |row|^2 + floor^2 of each of the bank's rows (floor NULL: |row|^2). With these as the rows'
 * norms, a patch at distance d from a row is at sqrt(d^2 + floor^2): as if the row sat floor
 * away in a dimension of its own, so a row of a frame the training set found atypical cannot
 * vouch for a patch as closely as a trusted one. */
void funad_bank_row_norms (const float *rows, const float *floor, int n, int dim, float *out);
/* Patch scores (distance to the nearest bank patch) of P patches. With group >= 0, bank rows
 * from images within exclude_within of it (bank_group) are skipped: leave-own-image-out
 * scores of training images. */
void funad_memory_bank_score (const FunadModel *model, const float *features, int P,
                              int group, const int *bank_group, int exclude_within,
                              float *scores);
/* Patch scores of any model kind (scratch: the MLP cache for FUN-AD). */
void funad_model_patch_scores (const FunadModel *model, const float *features, int P,
                               FunadMlpCache *cache, float *scores);

/* ---- calibration.c: per-cell calibration of patch scores -------------------------------- */
/* Fits the model's per-cell median and scale on `frames` frames' patch scores (frames x
 * grid^2, each frame scored leaving itself out). FALSE, and no calibration, when there are
 * too few frames or they never vary. */
gboolean funad_calibration_fit (FunadModel *model, const float *patch_scores, int frames);
/* Calibrates `count` patch scores of cells first.. in place (nothing without calibration). */
void funad_calibration_apply (const FunadModel *model, float *patch_scores, int first,
                              int count);

/* ---- appearance.c ------------------------------------------------------------------------ */
/* Blocks per side the appearance score cuts a grid x grid frame into. */
int funad_appearance_blocks (int grid);
/* For n frames' features (each grid^2 x D; frame i is frames[i] of `features`, or i when
 * frames is NULL), how unlike the other n frames each looks, place by place: the mean over
 * its blocks of the distance from the block's mean feature (dimensions standardised over all
 * blocks of the n frames) to the same block of the third nearest other frame (the farthest
 * there is when fewer are left), skipping frames within `window` of it in order; 0 where no
 * frame is left to compare with. */
#define FUNAD_APPEARANCE_RANK 3
void funad_appearance_outlier_scores (const float *features, const int *frames, int n,
                                      int grid, int D, int window, float *scores);

void funad_appearance_clear (FunadAppearance *appearance);
void funad_appearance_alloc (FunadAppearance *appearance, int n_frames, int n_blocks, int dim);
/* Fits the reference on n frames (as above; their numbers in order are `frames`, or 0..n-1)
 * and the spread of their own distances, each leaving out the frames within window of it.
 * FALSE (and no term) with fewer than 8 frames, no spread or a weight of 0. */
gboolean funad_appearance_fit (FunadAppearance *appearance, const float *features,
                               const int *frames, int n, int grid, int D, int window,
                               float weight);
/* Derives what scoring needs from the looks (after they are read from a file). */
void funad_appearance_ready (FunadAppearance *appearance);
/* weight x z of n frames (as above); with reference_frames (the reference's frame numbers,
 * training only) each leaves out the reference frames within window of its own number. All 0
 * without a term. */
void funad_appearance_offsets (const FunadAppearance *appearance, const float *features,
                               const int *frames, int n, int grid,
                               const int *reference_frames, int window, float *offsets);
/* The same for one frame in three steps: its looks (n_blocks x dim), then blocks b0..b1-1's
 * shares of its distance (any split of the blocks, in any threads), then its offset. */
void funad_appearance_frame_looks (const FunadAppearance *appearance, const float *features,
                                   int grid, float *looks);
void funad_appearance_frame_shares (const FunadAppearance *appearance, const float *looks,
                                    int b0, int b1, float *shares);
float funad_appearance_frame_offset (const FunadAppearance *appearance, const float *shares);
/* Adds a frame's offset to its patch scores (an unreachable one stays unreachable). */
void funad_appearance_shift (float *patch_scores, int count, float offset);

/* ---- stats.c ------------------------------------------------------------------------------ */
double funad_robust_cut (const float *values, gsize n, double z, double *median, double *mad);
void funad_sample_indices (GRand *rng, int n, int k, int *out, int *scratch);
float funad_gaussian (GRand *rng);

/* ---- metrics helpers ---------------------------------------------------------------------- */
/* A key whose unsigned order is the float order (the two zeros equal, NaN above +inf), and an
 * LSD radix sort of such keys (tmp: scratch of the same length). */
guint32 funad_float_sort_key (float value);
void funad_radix_sort_keys (guint32 *keys, guint32 *tmp, gsize n);
double funad_quantile (const float *values, gsize n, double q);

G_END_DECLS

#endif /* FUNAD_PRIVATE_H */
