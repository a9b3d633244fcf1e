/* losses.c — FUN-AD's loss terms, on logits for numerical stability. Each returns its value
 * and adds its gradient with respect to the logits into dlogit. */
#include <math.h>
#include "funad-private.h"

static inline double
softplus (double z)
{
  return z > 0 ? z + log1p (exp (-z)) : log1p (exp (z));
}

static inline float
sigmoid (float z)
{
  return 1.f / (1.f + expf (-z));
}

/* Class-balanced BCE: the rare label-1 patches weigh as much as all label-0 patches. */
double
funad_balanced_bce (const float *logit, const guint8 *label, int n, float *dlogit)
{
  int n_pos = 0;
  for (int i = 0; i < n; i++)
    n_pos += label[i] ? 1 : 0;
  int n_neg = n - n_pos;
  double loss_pos = 0.0, loss_neg = 0.0;
  for (int i = 0; i < n; i++) {
    float s = sigmoid (logit[i]);
    if (label[i]) {
      loss_pos += softplus (-logit[i]);      /* -log s */
      dlogit[i] += (s - 1.f) / n_pos;
    } else {
      loss_neg += softplus (logit[i]);       /* -log (1 - s) */
      dlogit[i] += s / n_neg;
    }
  }
  return (n_pos ? loss_pos / n_pos : 0.0) + (n_neg ? loss_neg / n_neg : 0.0);
}

/* Mutual smoothness: mutually nearest patches should score alike. */
double
funad_mutual_smoothness (const float *logit, const int *pair_i, const int *pair_j, int n_pairs,
                         float weight, float *dlogit)
{
  if (n_pairs == 0)
    return 0.0;
  double loss = 0.0;
  float scale = weight * 0.5f / n_pairs;
  for (int p = 0; p < n_pairs; p++) {
    int i = pair_i[p], j = pair_j[p];
    float si = sigmoid (logit[i]), sj = sigmoid (logit[j]);
    float diff = si - sj;
    loss += fabsf (diff);
    float sign = diff > 0.f ? 1.f : (diff < 0.f ? -1.f : 0.f);
    dlogit[i] += scale * sign * si * (1.f - si);
    dlogit[j] -= scale * sign * sj * (1.f - sj);
  }
  return weight * 0.5 * loss / n_pairs;
}
