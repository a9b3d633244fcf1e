#!/usr/bin/env bash
# Prints funad's speed and memory figures on this machine (issue: performance):
#   - the sgemm peak, the ceiling everything is measured against;
#   - the core alone and funaddetect in a real pipeline, with 1 thread and with the element's
#     default (n-threads 0: one per core), per model input size (224, 320),
#     overlay on and off, 640x480 RGB frames: fps, ms per stage, GFLOP/s, peak RSS;
#   - funad-train's wall time and peak RSS against the number of frames.
# Footage comes from funad-make-demo, so nothing outside the project is needed.
#   tools/bench.sh [BUILD_DIR] [WORK_DIR]     (defaults: build, a temporary folder)
# Set BENCH_TRAIN_FRAMES="250 500" to shorten the training part, BENCH_SKIP_TRAIN=1 to skip it,
# BENCH_ONLY_TRAIN=1 to run only it, BENCH_TRAIN_ARGS="--scorer funad" to time another recipe.
# Extra models: BENCH_MODELS="name=path ..." (e.g. a pretrained backbone's model) are added to
# the frame-rate table.
set -eu
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build}")
work=${2:-$(mktemp -d /tmp/funad-bench.XXXXXX)}
mkdir -p "$work"
export GST_PLUGIN_PATH="$build/gst"
bench="$build/tools/funad-bench"
train="$build/tools/funad-train"
demo="$build/tools/funad-make-demo"
frames=${BENCH_FRAMES:-200}

echo "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-unset (all cores)}"
"$bench" peak

# Footage for the models: 640x480 conveyor frames (a few defective, as real footage would be).
[ -f "$work/demo/train.avi" ] ||
  "$demo" -q -o "$work/demo" --frames 2000 --test-frames 10 --width 640 --height 480

models=""
[ -n "${BENCH_ONLY_TRAIN:-}" ] || for size in 224 320; do
  [ -f "$work/builtin-$size.st" ] ||
    "$train" -q --max-frames 400 --size "$size" -o "$work/builtin-$size.st" "$work/demo/train.avi"
  models="$models builtin-$size=$work/builtin-$size.st"
done
# Pretrained backbones, where their weights are at hand: the shared ImageNet MobileNetV2 trunk,
# and any NAME:WEIGHTS in BENCH_BACKBONES (e.g. resnet18 weights written for timing by
# `/usr/bin/python3 tools/make-backbone-fixtures.py --full-width resnet18 /tmp/r18.safetensors`).
backbones=${BENCH_BACKBONES:-}
mobilenet=../shared/models/mobilenetv2_100-imagenet-trunk.safetensors
[ -f "$mobilenet" ] && backbones="mobilenetv2_100:$(realpath "$mobilenet") $backbones"
[ -n "${BENCH_ONLY_TRAIN:-}" ] && backbones=""
for backbone in $backbones; do
  name=${backbone%%:*}
  for size in 224 320; do
    [ -f "$work/$name-$size.st" ] ||
      "$train" -q --max-frames 400 --size "$size" --backbone "$backbone" \
        -o "$work/$name-$size.st" "$work/demo/train.avi"
    models="$models $name-$size=$work/$name-$size.st"
  done
done
[ -n "${BENCH_ONLY_TRAIN:-}" ] || models="$models ${BENCH_MODELS:-}"
for entry in $models; do
  name=${entry%%=*}
  model=${entry#*=}
  echo
  echo "## $name"
  for overlay in "" "--overlay"; do
    for threads in 1 0; do   # 0: one per core (the element's default)
      "$bench" core "$model" -n "$frames" --threads "$threads" $overlay
    done
  done
  for overlay in "" "--overlay"; do
    for threads in 1 0; do   # n-threads 0: one per core (the default)
      "$bench" element "$model" -n "$frames" --threads "$threads" $overlay
    done
  done
done

[ -n "${BENCH_SKIP_TRAIN:-}" ] && exit 0
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
echo
train_args=${BENCH_TRAIN_ARGS:-}
echo "## funad-train (builtin, 224, ${train_args:-the default recipe}): wall time and peak RSS against frames"
for n in ${BENCH_TRAIN_FRAMES:-250 500 1000 2000}; do
  /usr/bin/time -f "%e %M" -o "$work/time.txt" \
    "$train" -q --dedup 0 --max-frames "$n" $train_args -o "$work/train-$n.st" "$work/demo/train.avi"
  read -r seconds kb < "$work/time.txt"
  awk -v n="$n" -v s="$seconds" -v kb="$kb" 'BEGIN {
    printf "train %5d frames  %7.1f s  %6.2f s per 100 frames  peak RSS %5.0f MB\n",
           n, s, s * 100 / n, kb / 1024 }'
done
