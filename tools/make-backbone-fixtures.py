#!/usr/bin/python3
"""make-backbone-fixtures.py — writes the PyTorch reference fixtures of the pretrained backbones.

    /usr/bin/python3 tools/make-backbone-fixtures.py tests/fixtures
    /usr/bin/python3 tools/make-backbone-fixtures.py --full-width resnet18 /tmp/r18.safetensors

Needs Debian's python3-torch (apt-get install python3-torch); the tests that read the fixtures
do not. For each architecture it builds the trunk in torch with timm's tensor names at reduced
width, with random weights AND random BatchNorm statistics (eval mode, so the running statistics
are what the C code folds in), runs a random [0, 255] RGB image through it in float64, and
writes one safetensors file holding:
  - the weights (timm names, F32), plus an unused classifier tensor and an I64
    num_batches_tracked, as real timm files have, which the C loader must skip;
  - fixture.input: 3 x S x S, values in [0, 255];
  - fixture.stageN: the feature stages' outputs (C x H x W) for the normalised input;
  - fixture.features: (S/8)^2 x dim, the patch features funad computes from them: each stage
    3x3-averaged (borders average fewer), bilinearly resized to the stride-8 grid, concatenated.
--full-width writes random weights at a real network's width, for timing only.
The safetensors file is written by hand (8-byte little-endian header length, JSON, raw data),
so the script needs nothing beyond torch.
"""
import json
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SIZE = 64   # input side: stride-8 grid 8x8, stride-16 maps 4x4


def random_bn(bn, gen):
    c = bn.num_features
    with torch.no_grad():
        bn.weight.copy_(torch.rand(c, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(c, generator=gen) * 0.2)
        bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.2)
        bn.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.5)


def randomize(model, gen):
    """Weights scaled so activations keep their size through the depth (He init)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            with torch.no_grad():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        elif isinstance(m, nn.BatchNorm2d):
            random_bn(m, gen)


# ---- MobileNetV2 with timm's names --------------------------------------------------------

class DepthwiseSeparable(nn.Module):   # timm blocks.0.0
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_dw = nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv_pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = cin == cout

    def forward(self, x):
        y = self.bn2(self.conv_pw(F.relu6(self.bn1(self.conv_dw(x)))))
        return y + x if self.skip else y


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        self.conv_pw = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv_dw = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv_pwl = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x):
        y = F.relu6(self.bn1(self.conv_pw(x)))
        y = F.relu6(self.bn2(self.conv_dw(y)))
        y = self.bn3(self.conv_pwl(y))
        return y + x if self.skip else y


class MobileNetV2Trunk(nn.Module):
    """timm mobilenetv2_100 blocks.0 .. blocks.4; widths reduced (the real net: 32, 16, 24, 32,
    64, 96)."""
    repeats = [1, 2, 3, 4, 3]
    strides = [1, 2, 2, 2, 1]
    feature_stages = [2, 3, 4]

    def __init__(self, stem=8, widths=(8, 8, 16, 16, 24), expand=4):
        super().__init__()
        self.conv_stem = nn.Conv2d(3, stem, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        stages, cin = [], stem
        for s, (n, st, c) in enumerate(zip(self.repeats, self.strides, widths)):
            blocks = []
            for r in range(n):
                if s == 0:
                    blocks.append(DepthwiseSeparable(cin, c))
                else:
                    blocks.append(InvertedResidual(cin, c, st if r == 0 else 1, expand))
                cin = c
            stages.append(nn.Sequential(*blocks))
        self.blocks = nn.Sequential(*stages)

    def forward(self, x):
        x = F.relu6(self.bn1(self.conv_stem(x)))
        out = []
        for s, stage in enumerate(self.blocks):
            x = stage(x)
            if s in self.feature_stages:
                out.append(x)
        return out


# ---- ResNet with timm/torchvision names ---------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class Bottleneck(nn.Module):
    def __init__(self, cin, mid, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNetTrunk(nn.Module):
    """conv1 .. layer3 (layer4 and fc are not run by funad)."""

    def __init__(self, bottleneck, repeats, stem, widths, expansion=4):
        super().__init__()
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        cin = stem
        for l, (n, w) in enumerate(zip(repeats, widths)):
            blocks = []
            for b in range(n):
                stride = 2 if b == 0 and l > 0 else 1
                if bottleneck:
                    blocks.append(Bottleneck(cin, w, w * expansion, stride))
                    cin = w * expansion
                else:
                    blocks.append(BasicBlock(cin, w, stride))
                    cin = w
            setattr(self, "layer%d" % (l + 1), nn.Sequential(*blocks))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer1(x)
        s8 = self.layer2(x)
        s16 = self.layer3(s8)
        return [s8, s16]


# ---- patch features as funad computes them ------------------------------------------------

def patch_features(stages, grid):
    maps = []
    for s in stages:
        a = F.avg_pool2d(s, 3, 1, 1, count_include_pad=False)
        if a.shape[-1] != grid or a.shape[-2] != grid:
            a = F.interpolate(a, size=(grid, grid), mode="bilinear", align_corners=False)
        maps.append(a)
    f = torch.cat(maps, dim=1)[0]                      # dim x grid x grid
    return f.permute(1, 2, 0).reshape(grid * grid, -1)  # cells x dim


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def make(path, name, model, mean, std, metadata, seed):
    gen = torch.Generator().manual_seed(seed)
    randomize(model, gen)
    model.eval()
    image = torch.rand(1, 3, SIZE, SIZE, generator=gen) * 255.0
    image = image.round()   # an 8-bit frame
    m64 = model.double()
    x = (image.double() / 255.0 - torch.tensor(mean).view(1, 3, 1, 1).double()) \
        / torch.tensor(std).view(1, 3, 1, 1).double()
    with torch.no_grad():
        stages = m64(x)
        feats = patch_features(stages, SIZE // 8)
    tensors = {k: v.float() for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    tensors["bn1.num_batches_tracked"] = torch.zeros((), dtype=torch.int64)
    tensors["classifier.weight"] = torch.randn(5, 4, generator=gen)
    tensors["fixture.input"] = image[0].float()
    for i, s in enumerate(stages):
        tensors["fixture.stage%d" % i] = s[0].float()
    tensors["fixture.features"] = feats.float()
    meta = {"architecture": name, "generator": "tools/make-backbone-fixtures.py",
            "seed": str(seed), "torch": torch.__version__}
    meta.update(metadata)
    write_safetensors(path, tensors, meta)
    shapes = ", ".join("x".join(map(str, s.shape[1:])) for s in stages)
    print("%s: %s, stages %s, features %s" % (path, name, shapes, tuple(feats.shape)))


def full_width(name, path):
    """Random weights at the real width (for timing only; never committed)."""
    nets = {
        "mobilenetv2_100": lambda: MobileNetV2Trunk(32, (16, 24, 32, 64, 96), 6),
        "resnet18": lambda: ResNetTrunk(False, [2, 2, 2], 64, [64, 128, 256]),
        "resnet50": lambda: ResNetTrunk(True, [3, 4, 6], 64, [64, 128, 256]),
        "wide_resnet50_2": lambda: ResNetTrunk(True, [3, 4, 6], 64, [128, 256, 512], 2),
    }
    model = nets[name]()
    randomize(model, torch.Generator().manual_seed(0))
    tensors = {k: v.float() for k, v in model.state_dict().items()
               if not k.endswith("num_batches_tracked")}
    write_safetensors(path, tensors, {"architecture": name, "note": "random weights, timing only"})
    print("%s: random %s weights" % (path, name))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--full-width":
        full_width(sys.argv[2], sys.argv[3])
        return
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    torch.manual_seed(0)
    half = [0.5, 0.5, 0.5]
    imagenet_mean, imagenet_std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    make(out + "/mobilenetv2-tiny.safetensors", "mobilenetv2_100", MobileNetV2Trunk(),
         half, half, {"input": "RGB scaled to [-1,1] (x/127.5-1)"}, 1)
    make(out + "/resnet18-tiny.safetensors", "resnet18",
         ResNetTrunk(False, [2, 2, 2], 8, [8, 16, 32]), imagenet_mean, imagenet_std, {}, 2)
    make(out + "/resnet50-tiny.safetensors", "resnet50",
         ResNetTrunk(True, [3, 4, 6], 8, [4, 8, 12]), imagenet_mean, imagenet_std, {}, 3)
    # wide_resnet50_2: resnet50's blocks with twice the inner width (expansion 2, not 4)
    make(out + "/wide_resnet50_2-tiny.safetensors", "wide_resnet50_2",
         ResNetTrunk(True, [3, 4, 6], 8, [8, 16, 24], 2), imagenet_mean, imagenet_std, {}, 4)


if __name__ == "__main__":
    main()
